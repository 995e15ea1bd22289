/**
 * Canonical JSON: text that `JSON.stringify(lossless.parse(text))` would give back unchanged, so a
 * relay may forward it as it came instead of parsing it into objects and writing it out again.
 *
 * `scanCanonicalObject` reads one object from `text` at `start` and returns the index just past
 * it, or -1 when the text there is not canonical or not JSON; it records where each member's key
 * and value lie, and, for one member named by the caller, where the members of the objects in its
 * array lie (a block's transactions). What is canonical:
 *
 * - no whitespace outside strings;
 * - integers only (-?(0|[1-9][0-9]*), not -0): fractions and exponents are written back by
 *   JSON.stringify in its own form, big integers are written digit for digit (src/json/lossless.ts);
 * - strings escape exactly what JSON.stringify escapes (`\"`, `\\`, `\b\f\n\r\t`, other control
 *   characters as lowercase `\u00xx`) and hold no lone surrogate;
 * - in each object, keys that are integers (which V8 puts first, in ascending order) come first and
 *   ascend, and no key repeats (JSON.parse keeps the last value of a repeated key).
 *
 * Anything else (-1) is not an error: the caller falls back to parse and stringify, which is exact.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39

const isDigit = (c: number) => c >= ZERO && c <= NINE

/** Control characters JSON.stringify writes as \u00xx (the others have a short escape). */
const isLongEscapedControl = (code: number) => code < 0x20 && code !== 8 && code !== 9 && code !== 10 && code !== 12 && code !== 13

const lowerHex = (c: number): number => (c >= ZERO && c <= NINE ? c - ZERO : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1)

/** A control character or a surrogate somewhere in the text: strings are then read char by char. */
const CAREFUL = /[\u0000-\u001f\ud800-\udfff]/
let careful = true
/** The first backslash at or after the scan position (Infinity: none). */
let nextBackslash = Number.POSITIVE_INFINITY

const begin = (text: string) => {
  careful = CAREFUL.test(text)
  const b = text.indexOf("\\")
  nextBackslash = b < 0 ? Number.POSITIVE_INFINITY : b
}

/**
 * Index past the canonical string starting at `i` (a quote), or -1. Most strings (hashes, keys)
 * hold no backslash, control character or surrogate: their end is the next quote, found natively.
 */
const scanString = (s: string, i: number): number => {
  const q = s.indexOf('"', i + 1)
  if (q < 0) return -1
  if (!careful && q < nextBackslash) return q + 1
  const end = scanStringSlowly(s, i)
  if (end > nextBackslash) {
    const b = s.indexOf("\\", end)
    nextBackslash = b < 0 ? Number.POSITIVE_INFINITY : b
  }
  return end
}

const scanStringSlowly = (s: string, i: number): number => {
  const n = s.length
  let j = i + 1
  while (j < n) {
    const c = s.charCodeAt(j)
    if (c === QUOTE) return j + 1
    if (c === BACKSLASH) {
      const e = s.charCodeAt(j + 1)
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2
        continue
      }
      if (e !== 0x75) return -1 // \/ and anything else: not what JSON.stringify writes
      let code = 0
      for (let k = 2; k < 6; k++) {
        const h = lowerHex(s.charCodeAt(j + k))
        if (h < 0) return -1
        code = code * 16 + h
      }
      if (!isLongEscapedControl(code)) return -1 // escaped surrogates, letters, …: written otherwise
      j += 6
      continue
    }
    if (c < 0x20) return -1
    if (c >= 0xd800 && c <= 0xdfff) {
      // a pair is written as it is; a lone surrogate would come back escaped
      if (c > 0xdbff) return -1
      const low = s.charCodeAt(j + 1)
      if (!(low >= 0xdc00 && low <= 0xdfff)) return -1
      j += 2
      continue
    }
    j++
  }
  return -1
}

/** Index past the canonical integer at `i`, or -1. */
const scanNumber = (s: string, i: number): number => {
  let j = i
  if (s.charCodeAt(j) === MINUS) j++
  const first = s.charCodeAt(j)
  if (!isDigit(first)) return -1
  j++
  if (first === ZERO) {
    if (j - i === 2) return -1 // -0 comes back as 0
  } else {
    while (isDigit(s.charCodeAt(j))) j++
  }
  const next = s.charCodeAt(j)
  if (next === 0x2e || next === 0x65 || next === 0x45 || isDigit(next)) return -1
  return j
}

const literal = (s: string, i: number, word: string): number => (s.startsWith(word, i) ? i + word.length : -1)

const scanArray = (s: string, i: number, depth: number, elements?: Array<number>): number => {
  let j = i + 1
  if (s.charCodeAt(j) === CLOSE_BRACKET) return j + 1
  for (;;) {
    const start = j
    j = elements !== undefined && s.charCodeAt(j) === OPEN_BRACE ? scanObject(s, j, depth + 1, elements) : scanValue(s, j, depth + 1)
    if (j < 0) return -1
    if (elements !== undefined) elements.push(-1, start, j) // -1 closes the element's member list
    const c = s.charCodeAt(j)
    if (c === COMMA) j++
    else if (c === CLOSE_BRACKET) return j + 1
    else return -1
  }
}

/**
 * The integer a key (raw text between the quotes) stands for when V8 orders it as an array index
 * (the canonical decimal of 0 … 2^32 - 2), else -1: "0352" and "4294967295" are ordinary keys.
 */
const indexKey = (s: string, from: number, to: number): number => {
  const len = to - from
  if (len === 0 || len > 10) return -1
  for (let k = from; k < to; k++) if (!isDigit(s.charCodeAt(k))) return -1
  if (len > 1 && s.charCodeAt(from) === ZERO) return -1
  const n = Number(s.slice(from, to))
  return n <= 4_294_967_294 ? n : -1
}

const sameText = (s: string, a: number, b: number, len: number): boolean => {
  for (let k = 0; k < len; k++) if (s.charCodeAt(a + k) !== s.charCodeAt(b + k)) return false
  return true
}

/** Whether the key at keyStart..keyEnd is one of `keys` (pairs of ranges) already seen. */
const repeats = (s: string, keys: Array<number>, keyStart: number, keyEnd: number): boolean => {
  const len = keyEnd - keyStart
  for (let k = 0; k < keys.length; k += 2) {
    if (keys[k + 1]! - keys[k]! === len && sameText(s, keys[k]!, keyStart, len)) return true
  }
  return false
}

/** Key ranges of the object being scanned, per nesting depth (reused: no allocation per object). */
const keyStack: Array<Array<number>> = []

const scanObject = (s: string, i: number, depth: number, members?: Array<number>, nested?: string, nestedOut?: Array<number>): number => {
  let j = i + 1
  if (s.charCodeAt(j) === CLOSE_BRACE) return j + 1
  const keys = (keyStack[depth] ??= [])
  keys.length = 0
  let lastIndex = -1
  let named = false
  for (;;) {
    if (s.charCodeAt(j) !== QUOTE) return -1
    const keyStart = j
    j = scanString(s, j)
    if (j < 0) return -1
    const keyEnd = j
    const index = indexKey(s, keyStart + 1, keyEnd - 1)
    if (index >= 0) {
      if (named || index <= lastIndex) return -1
      lastIndex = index
    } else {
      named = true
      if (repeats(s, keys, keyStart, keyEnd)) return -1
      keys.push(keyStart, keyEnd)
    }
    if (s.charCodeAt(j) !== COLON) return -1
    const valueStart = ++j
    const into = nested !== undefined && s.charCodeAt(j) === OPEN_BRACKET && keyEnd - keyStart - 2 === nested.length && s.startsWith(nested, keyStart + 1)
      ? nestedOut
      : undefined
    j = into !== undefined ? scanArray(s, j, depth, into) : scanValue(s, j, depth + 1)
    if (j < 0) return -1
    members?.push(keyStart, valueStart, j)
    const d = s.charCodeAt(j)
    if (d === COMMA) j++
    else if (d === CLOSE_BRACE) return j + 1
    else return -1
  }
}

const scanValue = (s: string, i: number, depth: number): number => {
  const c = s.charCodeAt(i)
  if (c === QUOTE) return scanString(s, i)
  if (c === OPEN_BRACE) return scanObject(s, i, depth)
  if (c === OPEN_BRACKET) return scanArray(s, i, depth)
  if (c === MINUS || isDigit(c)) return scanNumber(s, i)
  if (c === 0x74) return literal(s, i, "true")
  if (c === 0x66) return literal(s, i, "false")
  if (c === 0x6e) return literal(s, i, "null")
  return -1
}

/**
 * Scans the canonical object at `start`; -1 if it is not one. `members` receives
 * (keyStart, valueStart, valueEnd) per member (keyStart at the key's opening quote). When
 * `nested` names a member whose value is an array, `nestedOut` receives, per element, the
 * (keyStart, valueStart, valueEnd) of its members if it is an object, then (-1, elementStart,
 * elementEnd).
 */
export const scanCanonicalObject = (
  text: string,
  start: number,
  members: Array<number>,
  nested?: string,
  nestedOut?: Array<number>
): number => {
  if (text.charCodeAt(start) !== OPEN_BRACE) return -1
  begin(text)
  try {
    return scanObject(text, start, 0, members, nested, nestedOut)
  } catch {
    return -1 // nested too deep for the stack: the parse path decides
  }
}

/** True when `text` is exactly one canonical JSON value. */
export const isCanonical = (text: string): boolean => {
  begin(text)
  try {
    return scanValue(text, 0, 0) === text.length
  } catch {
    return false
  }
}
