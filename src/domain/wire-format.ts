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
import { stringify, withRawBigInts } from "../json/lossless.js"
import type { Block } from "./block.js"

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

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const needsDeposit = (cert: unknown): boolean =>
  isRecord(cert) && typeof cert["type"] === "string" && DEPOSIT_CERTIFICATE_TYPES.has(cert["type"]) && !("deposit" in cert)

const withDeposit = (cert: Record<string, unknown>): Record<string, unknown> => ({
  ...cert,
  deposit: { ada: { lovelace: STAKE_CREDENTIAL_DEPOSIT.ada.lovelace } }
})

/** One transaction minus datums/scripts/redeemers, with deposit injection; input untouched. */
export const prepareTransaction = (tx: unknown): unknown => {
  if (!isRecord(tx)) return tx
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

/**
 * One block's JSON text in `format` (redis-list elements, jsonl lines, and the pieces of a stream
 * entry). The bigints the parser restored are written through JSON.rawJSON, so the block stays on
 * the native JSON.stringify path (the replacer fallback is for bigints from elsewhere).
 */
export const encodeBlock = (block: Block, format: WireFormat = "hecate"): string =>
  withRawBigInts(block, () => stringify(format === "hecate" ? prepareBlock(block) : block))

/**
 * The stream entry `data`: compact JSON text of the array of blocks in `format`, bigint-exact.
 * The same text as stringifying the array at once, built block by block so that a block with a
 * bigint costs only itself the fallback, never the whole batch.
 */
export const encodeBlocks = (blocks: ReadonlyArray<Block>, format: WireFormat = "hecate"): string =>
  `[${blocks.map((b) => encodeBlock(b, format)).join(",")}]`
