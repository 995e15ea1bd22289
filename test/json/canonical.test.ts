import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { isCanonical, scanCanonicalObject } from "../../src/json/canonical.js"
import { parse, stringify } from "../../src/json/lossless.js"
import { propertyRuns } from "../../src/testing/check.js"

const numRuns = propertyRuns(300)

/** What the relay would write today: the text parsed and written out again. */
const roundTrip = (text: string): string | undefined => {
  try {
    return stringify(parse(text))
  } catch {
    return undefined
  }
}

const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("0", "1", "2", "10", "674", "01", "4294967295", "4294967294", "1234567890", "0352", "9966029209", "-1", "__proto__", "a", "b"),
  fc.string({ unit: "binary", maxLength: 3 })
)
const leaf = fc.oneof(
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: fc.constantFrom("\\", "\"", "/", "\n", "\u0000", "\u001f", "\u007f", "\ud800", "\udc00", "é", "a"), maxLength: 6 }),
  fc.boolean(),
  fc.constant(null)
)
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(key, tie("v"), { maxKeys: 5 }))
})).v

const write = (u: unknown) => JSON.stringify(u, (_k, v) => (typeof v === "bigint" ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString()) : v))

/** Texts near the canonical form: whitespace, other escapes, other number spellings, repeated keys. */
const perturbed = fc.tuple(value, fc.nat(), fc.constantFrom(" ", "\n", "\\/", "\\u0041", "\\u00E9", "\\u0008", "\\u001F", "\\u001f", "\\ud83d\\ude00", "\\udc00", "1.0", "1e3", "-0", "01", "0.5", ",\"a\":1", ",\"0\":1", ",\"a\":1,\"a\":2", "\"a\":1,\"1\":2"))
  .map(([v, at, insert]) => {
    const t = write(v)
    const i = at % (t.length + 1)
    return t.slice(0, i) + insert + t.slice(i)
  })

describe("canonical JSON (text that parse + stringify gives back unchanged)", () => {
  it("never calls a text canonical that a round trip would change", () => {
    fc.assert(
      fc.property(fc.oneof(value.map(write), perturbed), (text) => {
        if (isCanonical(text)) expect(roundTrip(text)).toBe(text)
      }),
      { numRuns }
    )
  })

  it("accepts what JSON.stringify writes", () => {
    const plainKey = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("0", "7", "674", "721", "123456789", "0352", "4294967294", "4294967295", "9966029209"))
    const plain = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: "small" }, fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null),
        fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(plainKey, tie("v"), { maxKeys: 5 }))
    })).v
    fc.assert(
      fc.property(plain, (v) => {
        const text = stringify(parse(write(v)))
        expect(isCanonical(text)).toBe(true)
      }),
      { numRuns }
    )
  })

  it("refuses the spellings a round trip rewrites", () => {
    for (const text of ['{"a": 1}', '{"a":1.0}', '{"a":1e3}', '{"a":-0}', '{"a":"\\/"}', '{"a":"\\u0041"}', '{"a":"\\u0008"}', '{"a":"\\u001F"}',
      '{"a":"\ud800"}', '{"a":1,"a":2}', '{"b":1,"1":2}', '{"2":1,"1":2}', '{"4294967294":1,"7":2}', '{"a":[1,2,]}', '{"a":tru}', '{"a":"x}']) {
      expect(isCanonical(text), text).toBe(false)
    }
    for (const text of ['{"1":2,"b":1}', '{"a":"\\u001f\\n\\"\\\\"}', '{"a":[],"b":{},"c":-12345678901234567890123}', '{"a":"\ud83d\ude00"}', '{"b":1,"0352":2,"4294967295":3}']) {
      expect(isCanonical(text), text).toBe(true)
      expect(roundTrip(text)).toBe(text)
    }
  })

  it("records each member's key and value, and the members of the objects in a named array", () => {
    const text = '{"id":"x","transactions":[{"a":1,"datums":{}},2],"n":null}'
    const members: Array<number> = []
    const nested: Array<number> = []
    expect(scanCanonicalObject(text, 0, members, "transactions", nested)).toBe(text.length)
    const pairs = (m: Array<number>) => {
      const out: Array<string> = []
      for (let i = 0; i < m.length; i += 3) out.push(m[i] === -1 ? `|${text.slice(m[i + 1], m[i + 2])}` : `${text.slice(m[i]!, m[i + 1]! - 1)}=${text.slice(m[i + 1], m[i + 2])}`)
      return out
    }
    expect(pairs(members)).toEqual(['"id"="x"', '"transactions"=[{"a":1,"datums":{}},2]', '"n"=null'])
    expect(pairs(nested)).toEqual(['"a"=1', '"datums"={}', '|{"a":1,"datums":{}}', "|2"])
  })
})
