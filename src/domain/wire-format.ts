/**
 * The block wire format of the epoch streams (docs/redis-contract.md), byte-compatible with the Python
 * Hecate's `prepare_block`:
 *
 *   { slot, hash, blocktype, era, ancestor, nonce, height, size, protocol, transactions }
 *
 * in exactly this key order; `hash` is Ogmios's `id`, `blocktype` its `type`, `nonce` is null when
 * Ogmios omits it, the block `issuer` is dropped, and each transaction loses `datums`, `scripts`
 * and `redeemers` (every other key keeps Ogmios's order). Certificates of type
 * stakeCredentialRegistration / stakeCredentialDeregistration without a `deposit` get
 * `"deposit": {"ada": {"lovelace": 2000000}}` appended (pre-Conway eras do not carry it).
 *
 * The input is never mutated: changed containers are copied, untouched values are shared.
 * Integers parsed as bigint by `src/json/lossless.ts` pass through and are written digit-exact.
 *
 * Non-Praos blocks (Byron bft/ebb; never relayed by the epoch backfill, which starts at 208) get
 * the same layout: an absent `slot`, `size` or `protocol` is written as null, absent
 * `transactions` as [], and Byron-only fields (delegate, operationalCertificates, issuer) are
 * dropped.
 */
import { scanCanonicalObject } from "../json/canonical.js"
import { parse, stringify, withRawBigInts } from "../json/lossless.js"
import type { Block } from "./block.js"
import { blockText, type BlockText } from "./block-text.js"

/** The value `prepare_block` injects (a fresh object per certificate here, never shared). */
export const STAKE_CREDENTIAL_DEPOSIT = { ada: { lovelace: 2_000_000 } } as const

const DROPPED_TX_KEYS = new Set(["datums", "scripts", "redeemers"])
const DEPOSIT_CERTIFICATE_TYPES = new Set(["stakeCredentialRegistration", "stakeCredentialDeregistration"])

/** A block in Hecate's wire format. */
export interface WireBlock {
  readonly slot: number | null
  readonly hash: string
  readonly blocktype: string
  readonly era: string
  readonly ancestor: string
  readonly nonce: unknown
  readonly height: number
  readonly size: unknown
  readonly protocol: unknown
  readonly transactions: ReadonlyArray<unknown>
}

const isRawJSON = (JSON as unknown as { isRawJSON: (u: unknown) => boolean }).isRawJSON

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const needsDeposit = (cert: unknown): boolean =>
  isRecord(cert) && typeof cert["type"] === "string" && DEPOSIT_CERTIFICATE_TYPES.has(cert["type"]) && !("deposit" in cert)

const withDeposit = (cert: Record<string, unknown>): Record<string, unknown> => ({
  ...cert,
  deposit: { ada: { lovelace: STAKE_CREDENTIAL_DEPOSIT.ada.lovelace } }
})

/** One transaction minus datums/scripts/redeemers, with deposit injection; input untouched. */
export const prepareTransaction = (tx: unknown): unknown => {
  // a bigint the encoder swapped for its JSON.rawJSON (src/json/lossless.ts) is a value, not a record
  if (!isRecord(tx) || isRawJSON(tx)) return tx
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(tx)) {
    if (DROPPED_TX_KEYS.has(key)) continue
    const value = tx[key]
    if (key === "certificates" && Array.isArray(value) && value.some(needsDeposit)) {
      out[key] = value.map((cert) => (needsDeposit(cert) ? withDeposit(cert as Record<string, unknown>) : cert))
    } else {
      out[key] = value
    }
  }
  return out
}

/** `prepare_block` of the Python Hecate, byte for byte: see the module comment. */
export const prepareBlock = (block: Block): WireBlock => {
  const txs = block.transactions
  return {
    slot: typeof block.slot === "number" ? block.slot : null,
    hash: block.id,
    blocktype: block.type,
    era: block.era,
    ancestor: block.ancestor,
    nonce: block["nonce"] ?? null,
    height: block.height,
    size: block.size ?? null,
    protocol: block["protocol"] ?? null,
    transactions: Array.isArray(txs) ? txs.map(prepareTransaction) : []
  }
}

/** `hecate`: the Python Hecate's wire format (prepareBlock). `ogmios`: blocks exactly as Ogmios sent them. */
export type WireFormat = "hecate" | "ogmios"

export const WIRE_FORMATS: ReadonlyArray<WireFormat> = ["hecate", "ogmios"]

/** The parsed block behind a header-only block kept as bytes (or the block itself). */
export const fullBlock = (block: Block): Block => {
  const kept = blockText(block)
  return kept === undefined ? block : (parse(kept.bytes.toString()) as Block)
}

const encodeParsed = (block: Block, format: WireFormat): string =>
  withRawBigInts(block, () => stringify(format === "hecate" ? prepareBlock(block) : block))

const HECATE_HEAD = ["slot", "hash", "blocktype", "era", "ancestor", "nonce", "height", "size", "protocol", "transactions"] as const
const OGMIOS_SOURCE: Record<(typeof HECATE_HEAD)[number], string> = {
  slot: "slot", hash: "id", blocktype: "type", era: "era", ancestor: "ancestor", nonce: "nonce", height: "height", size: "size",
  protocol: "protocol", transactions: "transactions"
}

const bytesOf = (text: string) => Buffer.from(text, "latin1")
/** `{"slot":`, `,"hash":`, …: each field's key as the wire format writes it */
const HEAD_KEYS = HECATE_HEAD.map((field) => bytesOf(`${field === "slot" ? "{" : ","}"${field}":`))
const NULL = bytesOf("null")
const EMPTY_ARRAY = bytesOf("[]")
const CLOSE_BRACE = bytesOf("}")

/**
 * A block's encoding spliced from ranges of its bytes and a few literals, copied once into a
 * buffer of the exact size: no string of the block is built on the way. Ranges that meet are
 * joined, so what the format leaves as it is (most transactions, whole runs of them) is copied at
 * once, commas and brackets taken from the source.
 */
class Splice {
  /** a literal, or a (from, to) range of the source */
  private readonly parts: Array<Buffer | number> = []
  private length = 0
  constructor(private readonly source: Buffer) {}
  literal(bytes: Buffer): void {
    this.parts.push(bytes)
    this.length += bytes.length
  }
  range(from: number, to: number): void {
    this.length += to - from
    const n = this.parts.length
    if (n >= 2 && this.parts[n - 1] === from && typeof this.parts[n - 2] === "number") this.parts[n - 1] = to
    else this.parts.push(from, to)
  }
  bytes(): Buffer {
    const out = Buffer.allocUnsafe(this.length)
    let at = 0
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!
      if (typeof part === "number") at += this.source.copy(out, at, part, this.parts[++i] as number)
      else at += part.copy(out, at)
    }
    return out
  }
}

/** A member's key (between its quotes) as latin1: compared with the wire format's ASCII names only. */
const keyName = (bytes: Buffer, keyStart: number, valueStart: number) => bytes.toString("latin1", keyStart + 1, valueStart - 2)

/** The lengths of the transaction keys the format drops or looks into: other keys are not read. */
const TX_KEY_LENGTHS = new Set([...DROPPED_TX_KEYS, "certificates"].map((k) => k.length))
/** The certificate types that get the deposit, as their `type` values are written (quoted) */
const DEPOSIT_TYPE_VALUES = new Set([...DEPOSIT_CERTIFICATE_TYPES].map((t) => `"${t}"`))
const DEPOSIT_TYPE_BYTES = [...DEPOSIT_TYPE_VALUES].map(bytesOf)

/** Whether the certificates at from..to name a type that may need the injected deposit. */
const mayNeedDeposit = (bytes: Buffer, from: number, to: number): boolean =>
  DEPOSIT_TYPE_BYTES.some((type) => {
    const at = bytes.indexOf(type, from)
    return at >= 0 && at + type.length <= to
  })

/** What prepare_block appends to a stake credential (de)registration certificate without a deposit. */
const DEPOSIT_MEMBER = bytesOf(`,"deposit":${JSON.stringify(STAKE_CREDENTIAL_DEPOSIT)}`)

/**
 * Where the deposit goes in the certificates array at valueStart..valueEnd: before the closing
 * brace of each certificate `needsDeposit` picks (an object whose `type` is one of the two and
 * that has no `deposit`), as block offsets; undefined when the array cannot be scanned here (the
 * caller then parses the transaction).
 */
const depositPoints = (bytes: Buffer, valueStart: number, valueEnd: number): Array<number> | undefined => {
  if (bytes[valueStart] !== 0x5b) return undefined
  // the array as the one member of an object, so the scanner records its elements' members
  const wrapped = `{"c":${bytes.toString("latin1", valueStart, valueEnd)}}`
  const shift = valueStart - 5 // `{"c":` precedes the array
  const members: Array<number> = []
  const certificates: Array<number> = []
  if (scanCanonicalObject(wrapped, 0, members, "c", certificates) !== wrapped.length) return undefined
  const points: Array<number> = []
  let from = 0
  for (let i = 0; i < certificates.length; i += 3) {
    if (certificates[i] !== -1) continue
    let typed = false
    let deposit = false
    for (let m = from; m < i; m += 3) {
      const name = wrapped.slice(certificates[m]! + 1, certificates[m + 1]! - 2)
      if (name === "deposit") deposit = true
      else if (name === "type") typed = DEPOSIT_TYPE_VALUES.has(wrapped.slice(certificates[m + 1]!, certificates[m + 2]!))
    }
    if (typed && !deposit) points.push(certificates[i + 2]! - 1 + shift)
    from = i + 3
  }
  return points
}

/**
 * One transaction of a kept block in the hecate format, from its members' bytes: the dropped keys
 * left out, each kept member with the comma before it, the braces from the source (a transaction
 * with nothing to drop is one range), and the deposit spliced into the certificates that need it.
 * A transaction whose certificates cannot be scanned here is parsed and prepared as a value.
 */
const hecateTransaction = (kept: BlockText, out: Splice, from: number, to: number, elementStart: number, elementEnd: number): void => {
  const { bytes, transactions } = kept
  if (from === to) return out.range(elementStart, elementEnd) // not an object (or {}): as it is
  const members: Array<number> = []
  let deposits: Array<number> | undefined
  for (let i = from; i < to; i += 3) {
    const keyStart = transactions[i]!
    const valueStart = transactions[i + 1]!
    const valueEnd = transactions[i + 2]!
    if (TX_KEY_LENGTHS.has(valueStart - keyStart - 3)) {
      const name = keyName(bytes, keyStart, valueStart)
      if (DROPPED_TX_KEYS.has(name)) continue
      if (name === "certificates" && mayNeedDeposit(bytes, valueStart, valueEnd)) {
        deposits = depositPoints(bytes, valueStart, valueEnd)
        if (deposits === undefined) {
          const tx = parse(bytes.toString("utf8", elementStart, elementEnd)) as object
          return out.literal(Buffer.from(withRawBigInts(tx, () => stringify(prepareTransaction(tx)))))
        }
      }
    }
    members.push(keyStart, valueEnd)
  }
  out.range(elementStart, elementStart + 1) // {
  let next = 0 // the next deposit point
  for (let i = 0; i < members.length; i += 2) {
    let at = i === 0 ? members[i]! : members[i]! - 1
    const end = members[i + 1]!
    for (; deposits !== undefined && next < deposits.length && deposits[next]! < end; next++) {
      out.range(at, deposits[next]!)
      out.literal(DEPOSIT_MEMBER)
      at = deposits[next]!
    }
    out.range(at, end)
  }
  out.range(elementEnd - 1, elementEnd) // }
}

/** `prepareBlock` + stringify, spliced from a kept block's bytes; undefined where that is not certain. */
const hecateFromBytes = (block: Block, kept: BlockText): Buffer | undefined => {
  const { bytes, members, transactions } = kept
  const value = new Map<string, number>() // name -> index of its (keyStart, valueStart, valueEnd) in members
  for (let i = 0; i < members.length; i += 3) value.set(keyName(bytes, members[i]!, members[i + 1]!), i)
  // the header fields were checked by the frame decoder; a slot that is not a plain number is null
  if (!value.has("id") || !value.has("type") || !value.has("era") || !value.has("ancestor") || !value.has("height")) return undefined
  const out = new Splice(bytes)
  HECATE_HEAD.forEach((field, f) => {
    out.literal(HEAD_KEYS[f]!)
    const at = value.get(OGMIOS_SOURCE[field])
    const whole = () => out.range(members[at! + 1]!, members[at! + 2]!)
    if (field === "slot") return typeof block.slot === "number" ? whole() : out.literal(NULL)
    if (field === "transactions") {
      const arrayStart = at === undefined ? -1 : members[at + 1]!
      if (at === undefined || bytes[arrayStart] !== 0x5b) return out.literal(EMPTY_ARRAY)
      out.range(arrayStart, arrayStart + 1) // [
      let from = 0
      for (let i = 0; i < transactions.length; i += 3) {
        if (transactions[i] !== -1) continue
        const elementStart = transactions[i + 1]!
        if (from > 0) out.range(elementStart - 1, elementStart) // the comma before it
        hecateTransaction(kept, out, from, i, elementStart, transactions[i + 2]!)
        from = i + 3
      }
      return out.range(members[at + 2]! - 1, members[at + 2]!) // ]
    }
    // absent: nonce, size or protocol (the others were checked above)
    if (at === undefined) return out.literal(NULL)
    return whole()
  })
  out.literal(CLOSE_BRACE)
  return out.bytes()
}

/** A kept block's encoding in `format` as bytes; undefined where only the parse path is certain. */
const keptBytes = (block: Block, kept: BlockText, format: WireFormat): Buffer | undefined =>
  format === "ogmios" ? kept.bytes : hecateFromBytes(block, kept)

/**
 * One block's JSON text in `format` (redis-list elements, jsonl lines, and the pieces of a stream
 * entry). The bigints the parser restored are written through JSON.rawJSON, so the block stays on
 * the native JSON.stringify path (the replacer fallback is for bigints from elsewhere). A block
 * kept as bytes (src/domain/block-text.ts) is written from its bytes: the same text, no parse.
 */
export const encodeBlock = (block: Block, format: WireFormat = "hecate"): string => {
  const kept = blockText(block)
  if (kept === undefined) return encodeParsed(block, format)
  return keptBytes(block, kept, format)?.toString() ?? encodeParsed(fullBlock(block), format)
}

/**
 * `encodeBlock` for a writer that takes bytes as well as text (a Redis argument): a kept block's
 * bytes as they are (ogmios) or spliced (hecate), with no string of the block built; any other
 * block's text.
 */
export const encodeBlockData = (block: Block, format: WireFormat = "hecate"): Buffer | string => {
  const kept = blockText(block)
  if (kept === undefined) return encodeParsed(block, format)
  return keptBytes(block, kept, format) ?? encodeParsed(fullBlock(block), format)
}

/**
 * The stream entry `data`: compact JSON text of the array of blocks in `format`, bigint-exact.
 * The same text as stringifying the array at once, built block by block so that a block with a
 * bigint costs only itself the fallback, never the whole batch.
 */
export const encodeBlocks = (blocks: ReadonlyArray<Block>, format: WireFormat = "hecate"): string =>
  `[${blocks.map((b) => encodeBlock(b, format)).join(",")}]`
