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

/** Byron epochs are 21600 slots; an EBB's consensus point is the first slot of its epoch. */
export const BYRON_EPOCH_SLOTS = 21_600

/**
 * The slot of a block. For an EBB (no slot field) the caller passes the previous block's slot, and
 * the EBB sits at the next multiple of the Byron epoch length.
 */
export const blockSlot = (block: Block, previousSlot = -1): number =>
  typeof block.slot === "number"
    ? block.slot
    : (Math.floor(previousSlot / BYRON_EPOCH_SLOTS) + 1) * BYRON_EPOCH_SLOTS

export const blockPoint = (block: Block, previousSlot = -1): Point => ({ slot: blockSlot(block, previousSlot), id: block.id })
