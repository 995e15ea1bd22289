/**
 * Lossless JSON for Cardano data: integers beyond 2^53 (lovelace, asset quantities, Byron
 * heights) become bigint on parse and are written back digit-for-digit.
 *
 * Cost model: a reviver on every field is several times slower than JSON.parse, so `parse` runs
 * the plain JSON.parse first and then walks the result for a number beyond +/-2^53 (an integer
 * JSON.parse rounded); only then does it parse again with the reviver. The walk costs about a
 * seventh of JSON.parse on a 32 KB block, where a regex gate over the text cost two thirds
 * (bench/chainsync.ts). Stringify tries the native path first; JSON.stringify throws on bigint,
 * and only then the rawJSON replacer is used. `npm run bench` measures both paths.
 */

const LONG_NUMBER_TOKEN = /[:[,]\s*-?\d{16,}/

const reviveBigInt = function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined) {
    const source = context.source
    if (/^-?\d+$/.test(source)) return BigInt(source)
  }
  return value
}

/** True when a parsed value holds a number JSON.parse may have rounded (|n| > 2^53 - 1). */
const hasRoundedNumber = (value: unknown): boolean => {
  if (typeof value === "number") return value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER
  if (typeof value !== "object" || value === null) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasRoundedNumber(value[i])) return true
    return false
  }
  for (const key in value) if (hasRoundedNumber((value as Record<string, unknown>)[key])) return true
  return false
}

/** Parses JSON text; unsafe integers become bigint. */
export const parse = (text: string): unknown => {
  const value: unknown = JSON.parse(text)
  return hasRoundedNumber(value) ? JSON.parse(text, reviveBigInt as never) : value
}

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
