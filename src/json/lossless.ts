/**
 * Lossless JSON for Cardano data: integers beyond 2^53 (lovelace, asset quantities, Byron
 * heights) become bigint on parse and are written back digit-for-digit.
 *
 * Cost model (bench/chainsync.ts, 32 KB blocks): a reviver on every field is ~6x slower than
 * JSON.parse, and realistic blocks very often hold a big asset quantity, so the reviver is the
 * last resort. `parse` runs the plain JSON.parse, then walks the result for numbers beyond
 * +/-(2^53 - 1), i.e. integers JSON.parse may have rounded (the walk costs ~1/7 of the parse).
 * None: done. Otherwise one regex pass collects the integer tokens of 16+ digits from the text,
 * keyed by the double they round to, and each rounded number is replaced by the BigInt of its
 * token. When that is not certain (see restoreBigInts: e.g. two different tokens rounding to the
 * same double, or a look-alike inside a string) it parses again with the reviver, which is exact
 * by construction. Stringify tries the native path first; JSON.stringify throws on bigint, and only
 * then the rawJSON replacer is used. `npm run bench` measures both paths.
 *
 * Encoding blocks with big integers (about 40 % of mainnet-shaped blocks carry one) through the
 * replacer is ~2x slower than the native path, so `parse` remembers where it put each bigint
 * (`bigIntSites`, keyed by the value it returned, movable to a sub-value with `adoptBigIntSites`)
 * and `withRawBigInts` swaps those values for `JSON.rawJSON` while a native JSON.stringify runs.
 */

const LONG_NUMBER_TOKEN = /[:[,]\s*-?\d{16,}/
/**
 * Where a JSON value can start: an integer token of 16+ digits (group 1), or a number written
 * with an exponent or a long fraction, which JSON.parse may also have made huge (group-less: the
 * caller then gives up on the fast path).
 */
const LONG_NUMBER_TOKENS = /[:[,]\s*(?:(-?\d{16,})(?![.eE\d])|-?\d+(?:\.\d+)?[eE]|-?\d{16,}\.)/g

const reviveBigInt = function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined) {
    const source = context.source
    if (/^-?\d+$/.test(source)) return BigInt(source)
  }
  return value
}

const isRounded = (n: number): boolean => n > Number.MAX_SAFE_INTEGER || n < -Number.MAX_SAFE_INTEGER

type Holder = Record<string, unknown> | Array<unknown>

/** Pushes (holder, key) of every number JSON.parse may have rounded (|n| > 2^53 - 1). */
const collectRounded = (holder: Holder, out: Array<Holder | string | number>): void => {
  if (Array.isArray(holder)) {
    for (let i = 0; i < holder.length; i++) {
      const v = holder[i]
      if (typeof v === "number") {
        if (isRounded(v)) out.push(holder, i)
      } else if (typeof v === "object" && v !== null) collectRounded(v as Holder, out)
    }
    return
  }
  for (const key in holder) {
    const v = holder[key]
    if (typeof v === "number") {
      if (isRounded(v)) out.push(holder, key)
    } else if (typeof v === "object" && v !== null) collectRounded(v as Holder, out)
  }
}

interface Token {
  /** the digits, or null when different tokens round to the same double */
  digits: string | null
  count: number
}

/** Long integer tokens by the double they parse to; undefined if a fraction/exponent may be huge. */
const longIntegerTokens = (text: string): Map<number, Token> | undefined => {
  const tokens = new Map<number, Token>()
  for (const m of text.matchAll(LONG_NUMBER_TOKENS)) {
    const digits = m[1]
    if (digits === undefined) return undefined
    const n = Number(digits)
    if (!isRounded(n)) continue
    const seen = tokens.get(n)
    if (seen === undefined) tokens.set(n, { digits, count: 1 })
    else {
      seen.count++
      if (seen.digits !== digits) seen.digits = null
    }
  }
  return tokens
}

/**
 * Replaces each rounded number by the BigInt of its token, when that is certain: no huge
 * fraction/exponent anywhere, and for each double as many tokens in the text (all alike) as
 * rounded numbers in the value, so none of the tokens was a look-alike inside a string.
 */
const restoreBigInts = (text: string, rounded: Array<Holder | string | number>): boolean => {
  const tokens = longIntegerTokens(text)
  if (tokens === undefined) return false
  const uses = new Map<number, number>()
  for (let i = 0; i < rounded.length; i += 2) {
    const n = (rounded[i] as Record<string | number, unknown>)[rounded[i + 1] as string | number] as number
    uses.set(n, (uses.get(n) ?? 0) + 1)
  }
  for (const [n, count] of uses) {
    const token = tokens.get(n)
    if (token === undefined || token.digits === null || token.count !== count) return false
  }
  for (let i = 0; i < rounded.length; i += 2) {
    const holder = rounded[i] as Record<string | number, unknown>
    const key = rounded[i + 1] as string | number
    holder[key] = BigInt(tokens.get(holder[key] as number)!.digits!)
  }
  return true
}

/** (holder, key) pairs of the bigints `parse` restored, by the value it returned. */
const SITES = new WeakMap<object, ReadonlyArray<Holder | string | number>>()

/** Where `parse` put bigints inside `value` (holder, key, holder, key, …); undefined: none known. */
export const bigIntSites = (value: object): ReadonlyArray<unknown> | undefined => SITES.get(value)

/** Files the bigint sites recorded for `from` (a parse result) under `to`, a value inside it. */
export const adoptBigIntSites = (from: object, to: object): void => {
  const sites = SITES.get(from)
  if (sites !== undefined) SITES.set(to, sites)
}

/** Parses JSON text; unsafe integers become bigint. */
export const parse = (text: string): unknown => {
  const value: unknown = JSON.parse(text)
  if (typeof value !== "object" || value === null) {
    return typeof value === "number" && isRounded(value) ? JSON.parse(text, reviveBigInt as never) : value
  }
  const rounded: Array<Holder | string | number> = []
  collectRounded(value as Holder, rounded)
  if (rounded.length === 0) return value
  if (restoreBigInts(text, rounded)) {
    SITES.set(value as object, rounded)
    return value
  }
  return JSON.parse(text, reviveBigInt as never)
}

/** True when `text` holds an integer that a plain JSON.parse would round. */
export const hasUnsafeIntegers = (text: string): boolean => LONG_NUMBER_TOKEN.test(text)

const rawJSON = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON

const replaceBigInt = (_key: string, value: unknown) => (typeof value === "bigint" ? rawJSON(value.toString()) : value)

/**
 * Runs `f` with every bigint `parse` restored inside `root` (see `adoptBigIntSites`) replaced by
 * its `JSON.rawJSON`, so a JSON.stringify of `root`, or of copies made inside `f`, stays native;
 * the bigints are put back before it returns. Sites that no longer hold a bigint are left alone;
 * a bigint put there by other code is still handled by `stringify`'s fallback.
 */
export const withRawBigInts = <A>(root: object, f: () => A): A => {
  const sites = SITES.get(root)
  if (sites === undefined) return f()
  const saved: Array<unknown> = []
  for (let i = 0; i < sites.length; i += 2) {
    const holder = sites[i] as Record<string | number, unknown>
    const key = sites[i + 1] as string | number
    const v = holder[key]
    saved.push(v)
    if (typeof v === "bigint") holder[key] = rawJSON(v.toString())
  }
  try {
    return f()
  } finally {
    for (let i = 0, j = 0; i < sites.length; i += 2, j++) {
      const holder = sites[i] as Record<string | number, unknown>
      const key = sites[i + 1] as string | number
      if (typeof saved[j] === "bigint") holder[key] = saved[j]
    }
  }
}

/** Serialises compactly; bigint values are written as plain JSON integers. */
export const stringify = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch (error) {
    if (error instanceof TypeError && /BigInt/i.test(error.message)) return JSON.stringify(value, replaceBigInt)
    throw error
  }
}
