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

/** The parsed block behind a header-only block kept as text (or the block itself). */
export const fullBlock = (block: Block): Block => {
  const kept = blockText(block)
  return kept === undefined ? block : (parse(kept.text.slice(kept.start, kept.end)) as Block)
}

const encodeParsed = (block: Block, format: WireFormat): string =>
  withRawBigInts(block, () => stringify(format === "hecate" ? prepareBlock(block) : block))

const HECATE_HEAD = ["slot", "hash", "blocktype", "era", "ancestor", "nonce", "height", "size", "protocol", "transactions"] as const
const OGMIOS_SOURCE: Record<(typeof HECATE_HEAD)[number], string> = {
  slot: "slot", hash: "id", blocktype: "type", era: "era", ancestor: "ancestor", nonce: "nonce", height: "height", size: "size",
  protocol: "protocol", transactions: "transactions"
}
/** Written as null when Ogmios omits them (or sends null) — `?? null` in prepareBlock. */
const NULL_WHEN_ABSENT = new Set(["nonce", "size", "protocol"])
const DEPOSIT_TYPES = /"stakeCredential(?:Registration|Deregistration)"/

/**
 * One transaction of a kept block in the hecate format, from its members' text: the dropped keys
 * left out. A transaction that may need a deposit injected is parsed and prepared as a value.
 */
const hecateTransaction = (kept: BlockText, from: number, to: number, elementStart: number, elementEnd: number): string => {
  const text = kept.text
  if (from === to) return text.slice(elementStart, elementEnd) // not an object (or {}): as it is
  let out = "{"
  for (let i = from; i < to; i += 3) {
    const keyStart = kept.transactions[i]!
    const valueStart = kept.transactions[i + 1]!
    const name = text.slice(keyStart + 1, valueStart - 2)
    if (DROPPED_TX_KEYS.has(name)) continue
    if (name === "certificates" && DEPOSIT_TYPES.test(text.slice(valueStart, kept.transactions[i + 2]!))) {
      const tx = parse(text.slice(elementStart, elementEnd)) as object
      return withRawBigInts(tx, () => stringify(prepareTransaction(tx)))
    }
    out += `${out.length > 1 ? "," : ""}${text.slice(keyStart, kept.transactions[i + 2]!)}`
  }
  return `${out}}`
}

/** `prepareBlock` + stringify, spliced from a kept block's text; undefined where that is not certain. */
const hecateFromText = (block: Block, kept: BlockText): string | undefined => {
  const text = kept.text
  const value = new Map<string, string>()
  for (let i = 0; i < kept.members.length; i += 3) {
    value.set(text.slice(kept.members[i]! + 1, kept.members[i + 1]! - 2), text.slice(kept.members[i + 1]!, kept.members[i + 2]!))
  }
  // the header fields were checked by the frame decoder; a slot that is not a plain number is null
  if (!value.has("id") || !value.has("type") || !value.has("era") || !value.has("ancestor") || !value.has("height")) return undefined
  let out = "{"
  for (const field of HECATE_HEAD) {
    const source = OGMIOS_SOURCE[field]
    let v = value.get(source)
    if (field === "slot") v = typeof block.slot === "number" ? v : "null"
    else if (NULL_WHEN_ABSENT.has(field)) v ??= "null"
    else if (field === "transactions") {
      if (v === undefined || !v.startsWith("[")) v = "[]"
      else {
        const txs: Array<string> = []
        let from = 0
        for (let i = 0; i < kept.transactions.length; i += 3) {
          if (kept.transactions[i] !== -1) continue
          txs.push(hecateTransaction(kept, from, i, kept.transactions[i + 1]!, kept.transactions[i + 2]!))
          from = i + 3
        }
        v = `[${txs.join(",")}]`
      }
    }
    out += `${field === "slot" ? "" : ","}"${field}":${v}`
  }
  return `${out}}`
}

/**
 * One block's JSON text in `format` (redis-list elements, jsonl lines, and the pieces of a stream
 * entry). The bigints the parser restored are written through JSON.rawJSON, so the block stays on
 * the native JSON.stringify path (the replacer fallback is for bigints from elsewhere). A block
 * kept as text (src/domain/block-text.ts) is written from its text: the same bytes, no parse.
 */
export const encodeBlock = (block: Block, format: WireFormat = "hecate"): string => {
  const kept = blockText(block)
  if (kept === undefined) return encodeParsed(block, format)
  if (format === "ogmios") return kept.text.slice(kept.start, kept.end)
  return hecateFromText(block, kept) ?? encodeParsed(fullBlock(block), format)
}

/**
 * The stream entry `data`: compact JSON text of the array of blocks in `format`, bigint-exact.
 * The same text as stringifying the array at once, built block by block so that a block with a
 * bigint costs only itself the fallback, never the whole batch.
 */
export const encodeBlocks = (blocks: ReadonlyArray<Block>, format: WireFormat = "hecate"): string =>
  `[${blocks.map((b) => encodeBlock(b, format)).join(",")}]`
