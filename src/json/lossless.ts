/**
 * Lossless JSON for Cardano data: integers beyond 2^53 (lovelace, asset quantities, Byron
 * heights) become bigint on parse and are written back digit-for-digit.
 *
 * Cost model: a reviver on every field is several times slower than JSON.parse, so the reviver
 * only runs when the text contains a number token of 16+ digits (a cheap regex gate that ignores
 * digits inside hex strings, which are preceded by a quote or a hex letter, never by `:`/`[`/`,`).
 * Stringify tries the native path first; JSON.stringify throws on bigint, and only then the
 * rawJSON replacer is used. `npm run bench` measures both paths.
 */

const LONG_NUMBER_TOKEN = /[:[,]\s*-?\d{16,}/

const reviveBigInt = function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined) {
    const source = context.source
    if (/^-?\d+$/.test(source)) return BigInt(source)
  }
  return value
}

/** Parses JSON text; unsafe integers become bigint. */
export const parse = (text: string): unknown =>
  LONG_NUMBER_TOKEN.test(text) ? JSON.parse(text, reviveBigInt as never) : JSON.parse(text)

/** True when `text` holds an integer that a plain JSON.parse would round. */
export const hasUnsafeIntegers = (text: string): boolean => LONG_NUMBER_TOKEN.test(text)

const rawJSON = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON

const replaceBigInt = (_key: string, value: unknown) => (typeof value === "bigint" ? rawJSON(value.toString()) : value)

/** Serialises compactly; bigint values are written as plain JSON integers. */
export const stringify = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch (error) {
    if (error instanceof TypeError && /BigInt/i.test(error.message)) return JSON.stringify(value, replaceBigInt)
    throw error
  }
}
