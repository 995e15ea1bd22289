/**
 * Identifiers and encoded values as a Cardano node produces them, built with standard codecs
 * (bech32 and base58 from @scure/base, CBOR from cbor-x, CRC32 from node:zlib) so that any
 * address decoder, CBOR decoder or SDK accepts what the simulator serves:
 *
 * - Shelley addresses per CIP-19 (base, pointer, enterprise; key and script credentials) with the
 *   header's network id (1 mainnet, 0 testnets) and the matching `addr` / `addr_test` prefix;
 * - reward accounts (`stake` / `stake_test`), pool ids (`pool`);
 * - Byron addresses: CBOR [#6.24(bytes .cbor [root, attributes, type]), crc32] in base58, with the
 *   protocol-magic attribute on testnets and an (opaque) derivation-path attribute for the
 *   Daedalus-style ones;
 * - Plutus data (datums, redeemers) as CBOR: constructors (tags 121..127, 1280.., 102), maps,
 *   lists, integers and bounded byte strings.
 *
 * Everything here runs once per chain (pools generated up front), never per block. The decoders
 * at the end read what a client sends in query parameters, accepting what Ogmios's decoders accept
 * (so that the simulator refuses what a node would refuse).
 */
import { base58, bech32 } from "@scure/base"
import blake2b from "blake2b"
import { Decoder, Encoder, Tag } from "cbor-x"
import { crc32 } from "node:zlib"
import type { Rng } from "./rng.js"

/** Definite-length CBOR with plain byte strings and integer-keyed maps, as the ledger writes them. */
const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true, pack: false })

/** A copy: cbor-x returns a view of its reusable output buffer. */
export const encodeCbor = (value: unknown): Buffer => Buffer.from(cbor.encode(value))

export type NetworkId = 0 | 1

export const randomBytes = (rng: Rng, n: number): Buffer => {
  const out = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() & 0xff
  return out
}

/** bech32 without the 90-character limit of BIP-173 (Cardano base addresses are 103+ characters). */
export const toBech32 = (prefix: string, bytes: Uint8Array): string => bech32.encode(prefix, bech32.toWords(bytes), false)

/** CIP-19 variable-length natural (7 bits per byte, big-endian, high bit = more bytes follow). */
const varNat = (n: number): Array<number> => {
  const out = [n & 0x7f]
  for (let rest = Math.floor(n / 128); rest > 0; rest = Math.floor(rest / 128)) out.unshift(0x80 | (rest & 0x7f))
  return out
}

/** CIP-19 header types: 0-3 base, 4-5 pointer, 6-7 enterprise; bit 0 = script payment, bit 1 = script stake. */
export type ShelleyAddressType = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7

export const shelleyAddress = (rng: Rng, networkId: NetworkId, type: ShelleyAddressType): string => {
  const payment = randomBytes(rng, 28)
  let tail: Uint8Array
  if (type <= 3) tail = randomBytes(rng, 28)
  else if (type <= 5) tail = Uint8Array.from([...varNat(rng.int(150_000_000)), ...varNat(rng.int(400)), ...varNat(rng.int(4))])
  else tail = new Uint8Array(0)
  const bytes = Buffer.concat([Uint8Array.of((type << 4) | networkId), payment, tail])
  return toBech32(networkId === 1 ? "addr" : "addr_test", bytes)
}

/** A reward account (stake address): header 0xe_ (key) or 0xf_ (script) + a 28-byte credential. */
export const rewardAccount = (credential: Uint8Array, networkId: NetworkId, script = false): string =>
  toBech32(networkId === 1 ? "stake" : "stake_test", Buffer.concat([Uint8Array.of((script ? 0xf0 : 0xe0) | networkId), credential]))

export const poolId = (hash: Uint8Array): string => toBech32("pool", hash)

/** BLAKE2b digest (hex) of `bytes`: 28 bytes for key hashes (pool ids), 32 for VRF key hashes. */
export const blake2bHex = (bytes: Uint8Array, length: 28 | 32): string => blake2b(length).update(bytes).digest("hex")

/**
 * A Byron address. `protocolMagic` (testnets only: mainnet addresses carry no magic) and
 * `derivationPath` (Daedalus wallets: an encrypted HD path, opaque to everyone but the wallet)
 * become attributes 2 and 1, each value CBOR-in-bytes as in cardano-ledger's Byron codec.
 */
export const byronAddress = (rng: Rng, options: { readonly protocolMagic?: number | undefined; readonly derivationPath: boolean }): string => {
  const attributes = new Map<number, Buffer>()
  if (options.derivationPath) attributes.set(1, encodeCbor(randomBytes(rng, 28)))
  if (options.protocolMagic !== undefined) attributes.set(2, encodeCbor(options.protocolMagic))
  const payload = encodeCbor([randomBytes(rng, 28), attributes, 0])
  return base58.encode(encodeCbor([new Tag(payload, 24), crc32(payload)]))
}

/**
 * Random Plutus data (as a value cbor-x encodes): at most `depth` levels of constructors, lists
 * and maps; byte strings of at most 64 bytes (the ledger's chunk bound); integers within int64.
 */
const plutusValue = (rng: Rng, depth: number): unknown => {
  const leaf = depth <= 0 || rng.chance(0.35)
  if (leaf) {
    if (rng.chance(0.5)) return randomBytes(rng, rng.pick([0, 4, 28, 32, 8 + rng.int(57)]))
    if (rng.chance(0.1)) return -BigInt(rng.nextU32()) * BigInt(rng.nextU32() >>> 1) - 1n
    return rng.chance(0.2) ? BigInt(rng.nextU32()) * BigInt(rng.nextU32() >>> 1) : rng.int(1_000_000)
  }
  const fields = () => Array.from({ length: rng.int(4) }, () => plutusValue(rng, depth - 1))
  const kind = rng.int(10)
  if (kind < 6) {
    const constructor = rng.chance(0.8) ? rng.int(3) : rng.int(140)
    if (constructor < 7) return new Tag(fields(), 121 + constructor)
    if (constructor < 128) return new Tag(fields(), 1280 + constructor - 7)
    return new Tag([constructor, fields()], 102)
  }
  if (kind < 8) return fields()
  const map = new Map<unknown, unknown>()
  for (let i = rng.int(3); i >= 0; i--) map.set(randomBytes(rng, 4 + rng.int(28)), plutusValue(rng, depth - 1))
  return map
}

/** CBOR hex of random Plutus data. */
export const plutusData = (rng: Rng, depth = 3): string => encodeCbor(plutusValue(rng, depth)).toString("hex")

// ------------------------------------------------------------------ decoding client input

const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: false })

/** Bytes of bech32 text with any prefix and no length limit (Ogmios decodes bech32 leniently), or undefined. */
const fromBech32 = (text: string): { readonly prefix: string; readonly bytes: Buffer } | undefined => {
  try {
    const { prefix, words } = bech32.decode(text as `${string}1${string}`, false)
    return { prefix, bytes: Buffer.from(bech32.fromWords(words)) }
  } catch {
    return undefined
  }
}

const fromHex = (text: string): Buffer | undefined => (text.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(text) ? Buffer.from(text, "hex") : undefined)

const fromBase58 = (text: string): Buffer | undefined => {
  try {
    return Buffer.from(base58.decode(text))
  } catch {
    return undefined
  }
}

/** Whether `bytes` end exactly after `count` CIP-19 variable-length naturals starting at `from`. */
const varNatsFill = (bytes: Buffer, from: number, count: number): boolean => {
  let at = from
  for (let n = 0; n < count; n++) {
    while (at < bytes.length && (bytes[at]! & 0x80) !== 0) at++
    if (at >= bytes.length) return false
    at++
  }
  return at === bytes.length
}

/** A Byron address's bytes: CBOR [#6.24(bytes .cbor [root, attributes, type]), crc32 of the payload]. */
const isByronAddressBytes = (bytes: Buffer): boolean => {
  try {
    const outer = cborDecoder.decode(bytes) as unknown
    if (!Array.isArray(outer) || outer.length !== 2) return false
    const [tagged, crc] = outer as [unknown, unknown]
    if (!(tagged instanceof Tag) || tagged.tag !== 24 || !(tagged.value instanceof Uint8Array) || crc !== crc32(tagged.value)) return false
    const inner = cborDecoder.decode(tagged.value) as unknown
    return Array.isArray(inner) && inner.length === 3
  } catch {
    return false
  }
}

/**
 * Whether the bytes are a payment address (CIP-19 header types 0–7 with network id 0 or 1, or a
 * Byron address): reward accounts are not addresses a UTxO can be queried by.
 */
const isAddressBytes = (bytes: Buffer): boolean => {
  if (bytes.length === 0) return false
  const type = bytes[0]! >> 4
  if (type === 8) return isByronAddressBytes(bytes)
  if ((bytes[0]! & 0x0f) > 1) return false
  if (type <= 3) return bytes.length === 57
  if (type <= 5) return bytes.length > 29 && varNatsFill(bytes, 29, 3)
  if (type <= 7) return bytes.length === 29
  return false
}

/** Whether `text` is an address as Ogmios decodes one: bech32 (any prefix), base58 (Byron) or hex bytes. */
export const isAddress = (text: string): boolean => {
  for (const bytes of [fromBech32(text)?.bytes, fromBase58(text), fromHex(text)]) {
    if (bytes !== undefined && isAddressBytes(bytes)) return true
  }
  return false
}

/** A stake pool id given as bech32 (any prefix) or hex of a 28-byte key hash, as the `pool1…` id; else undefined. */
export const decodePoolId = (text: string): string | undefined => {
  const bytes = fromBech32(text)?.bytes ?? fromHex(text)
  return bytes?.length === 28 ? poolId(bytes) : undefined
}

/**
 * A credential's 28-byte hash (hex) given as hex or as bech32 with one of `prefixes` (28 bytes),
 * or, for staking credentials, as a reward account (`stake…` / `stake_test…`, header 0xe_/0xf_
 * with network id 0 or 1); else undefined.
 */
export const decodeCredential = (text: string, kind: "staking" | "drep"): string | undefined => {
  const hex = fromHex(text)
  if (hex !== undefined) return hex.length === 28 ? hex.toString("hex") : undefined
  const decoded = fromBech32(text)
  if (decoded === undefined) return undefined
  const { prefix, bytes } = decoded
  if (kind === "staking" && (prefix === "stake" || prefix === "stake_test")) {
    const header = bytes[0] ?? 0
    return bytes.length === 29 && (header & 0xe0) === 0xe0 && (header & 0x0f) <= 1 ? bytes.subarray(1).toString("hex") : undefined
  }
  const prefixes = kind === "staking" ? ["stake_vkh", "script"] : ["drep_vkh", "drep_script"]
  return prefixes.includes(prefix) && bytes.length === 28 ? bytes.toString("hex") : undefined
}
