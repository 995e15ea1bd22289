/**
 * What a chain-sync session delivers: the two Ogmios `nextBlock` results, as a tagged union.
 * The reorg operator turns these into apply / undo / final events (src/streams/reorg).
 */
import type { Block } from "./block.js"
import type { PointOrOrigin, TipOrOrigin } from "./point.js"

export interface RollForward {
  readonly _tag: "RollForward"
  readonly block: Block
  readonly tip: TipOrOrigin
}

export interface RollBackward {
  readonly _tag: "RollBackward"
  readonly point: PointOrOrigin
  readonly tip: TipOrOrigin
}

export type ChainSyncEvent = RollForward | RollBackward

export const RollForward = (block: Block, tip: TipOrOrigin): RollForward => ({ _tag: "RollForward", block, tip })
export const RollBackward = (point: PointOrOrigin, tip: TipOrOrigin): RollBackward => ({ _tag: "RollBackward", point, tip })
