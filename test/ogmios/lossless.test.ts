// src/json/lossless.ts parse (the chain-sync hot path) against the exact-by-construction reviver
// parse, on random JSON rich in big integers, integer-like keys, look-alike digits inside strings
// and distinct integers that round to the same double.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parse, stringify } from "../../src/json/lossless.js"

const reference = (text: string): unknown =>
  JSON.parse(text, function (_key: string, value: unknown, context?: { source?: string }) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source)
    }
    return value
  } as never)

const U64 = 18_446_744_073_709_551_615n
const bigInt = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.bigInt({ min: U64 - 3n, max: U64 }), // neighbours that round to the same double
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }),
  fc.constantFrom(-(2n ** 53n) - 1n, 10n ** 16n, 99_999_999_999_999_999n)
)
const leaf = fc.oneof(
  bigInt,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  bigInt.map((n) => `x:${n}`), // digits after a colon, inside a string
  bigInt.map((n) => `,${n}]`),
  fc.boolean(),
  fc.constant(null)
)
const key = fc.oneof(fc.string({ maxLength: 4 }), fc.nat(100).map(String), fc.constantFrom("38", "00", "ada"))
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 6 }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 6 })
})).value

describe("lossless.parse", () => {
  it("equals the reviver parse on random JSON with big integers", () => {
    fc.assert(
      fc.property(json, fc.boolean(), (value, pretty) => {
        const text = pretty
          ? JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(String(v)) : v), 2)
          : stringify(value)
        expect(parse(text)).toStrictEqual(reference(text))
      }),
      { numRuns: 3000 }
    )
  })

  it("handles the tricky cases exactly", () => {
    const cases = [
      '{"a":18446744073709551615,"b":18446744073709551614}', // same double, different digits
      '{"s":"q:18446744073709551614","n":18446744073709551615}', // look-alike inside a string
      '{"38":9007199254740993,"10":[-9007199254740993, 1e400, 12345678901234567.5]}',
      '[ 123456789012345678901234567890 ,\n 1 ]',
      "9007199254740993",
      '{"x":1.8446744073709552e19,"y":18446744073709551615}',
      '{"a":1e20,"a":100000000000000000000}', // duplicate key: the last one wins
      '{"a":100000000000000000000,"a":1e20}',
      '{"s":"\\"a\\":18446744073709551614","a":18446744073709551615}', // escaped-quote look-alike
      '{"s":"\\\\","a":18446744073709551615}', // a string ending in a backslash before the key
      '{"\\u0061":18446744073709551615,"b":{"a":18446744073709551614}}', // key written with an escape
      '{"":18446744073709551615,"x":[{"":-18446744073709551615}]}',
      '{",":18446744073709551615,"k":" ,\\":18446744073709551614"}'
    ]
    for (const text of cases) expect(parse(text), text).toStrictEqual(reference(text))
    expect((parse(cases[0]!) as { b: bigint }).b).toBe(18_446_744_073_709_551_614n)
    expect(parse(cases[4]!)).toBe(9_007_199_254_740_993n)
  })
})
