/**
 * A Cardano block as Ogmios sends it. Hecate only relies on the header fields every era has
 * (type, era, id, ancestor, height, slot); everything else is carried through untouched, so the
 * type is open. EBBs (Byron epoch-boundary blocks) carry no slot: see `blockSlot`.
 */
import type { Point } from "./point.js"

export type BlockType = "ebb" | "bft" | "praos"

export interface Block {
  readonly type: BlockType | (string & {})
  readonly era: string
  readonly id: string
  readonly ancestor: string
  readonly height: number
  readonly slot?: number
  readonly size?: { readonly bytes: number }
  readonly transactions?: ReadonlyArray<unknown>
  readonly [field: string]: unknown
}

/**
 * Byron epochs on mainnet (and preprod) are 21600 slots (10k); an EBB's consensus point is the
 * first slot of its epoch. Other networks (a custom Byron devnet) have their own epoch length:
 * the `epochLength` of their first (Byron) era summary.
 */
export const BYRON_EPOCH_SLOTS = 21_600

/**
 * The slot of a block. For an EBB (no slot field) the caller passes the previous block's slot, and
 * the EBB sits at the next multiple of the network's Byron epoch length.
 */
export const blockSlot = (block: Block, previousSlot = -1, byronEpochLength = BYRON_EPOCH_SLOTS): number =>
  typeof block.slot === "number"
    ? block.slot
    : (Math.floor(previousSlot / byronEpochLength) + 1) * byronEpochLength

export const blockPoint = (block: Block, previousSlot = -1, byronEpochLength = BYRON_EPOCH_SLOTS): Point => ({
  slot: blockSlot(block, previousSlot, byronEpochLength),
  id: block.id
})

/**
 * The block's header fields only (type, era, id, ancestor, height, slot): what identifies it and
 * places it on the chain, with none of its content (transactions, or the bytes a block kept as
 * text refers to), e.g. for a window that outlives the block's write.
 */
export const blockHeader = (block: Block): Block => {
  const header: { -readonly [K in keyof Block]: Block[K] } = { type: block.type, era: block.era, id: block.id, ancestor: block.ancestor, height: block.height }
  if (block.slot !== undefined) header.slot = block.slot
  return header
}
