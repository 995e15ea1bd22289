/**
 * What the reorg operator (src/streams/reorg) emits, and how it fails.
 *
 * - `Apply{block, tip}`: a block joined the current chain (emitted as soon as it arrives).
 * - `Undo{block}`: a block left the current chain in a rollback. Undos come newest first, carry the
 *   block's full content (as it was applied), and precede the applies of the new branch.
 * - `Final{block}`: the block is `depth` blocks deep; it is never undone, and every block is
 *   finalised exactly once, in chain order.
 */
import { Schema } from "effect"
import type { Block } from "./block.js"
import { formatPoint, PointOrOrigin, type TipOrOrigin } from "./point.js"

export interface Apply {
  readonly _tag: "Apply"
  readonly block: Block
  readonly tip: TipOrOrigin
}

export interface Undo {
  readonly _tag: "Undo"
  readonly block: Block
}

export interface Final {
  readonly _tag: "Final"
  readonly block: Block
}

export type ReorgEvent = Apply | Undo | Final

export const Apply = (block: Block, tip: TipOrOrigin): Apply => ({ _tag: "Apply", block, tip })
export const Undo = (block: Block): Undo => ({ _tag: "Undo", block })
export const Final = (block: Block): Final => ({ _tag: "Final", block })

/**
 * A rollback to a point behind the last final block (or to origin once something was finalised).
 * `depth` is the number of blocks the rollback would undo: exact for origin (tip height + 1),
 * otherwise a lower bound (a Point carries no height). `windowDepth` is how many blocks the
 * volatile window could undo.
 */
export class RollbackTooDeep extends Schema.TaggedError<RollbackTooDeep>()("RollbackTooDeep", {
  point: PointOrOrigin,
  depth: Schema.Number,
  windowDepth: Schema.Number,
  finalPoint: PointOrOrigin
}) {
  override get message(): string {
    return `rollback to ${formatPoint(this.point)} is too deep: it would undo ${
      this.point === "origin" ? "" : "at least "
    }${this.depth} blocks, the volatile window holds ${this.windowDepth} (last final point ${formatPoint(this.finalPoint)})`
  }
}

/** A rollback to a point that is neither in the volatile window nor the last final point. */
export class UnknownRollbackPoint extends Schema.TaggedError<UnknownRollbackPoint>()("UnknownRollbackPoint", {
  point: PointOrOrigin,
  windowDepth: Schema.Number,
  finalPoint: PointOrOrigin
}) {
  override get message(): string {
    return `rollback point ${formatPoint(this.point)} is not on the current chain (searched the ${this.windowDepth} volatile blocks and the last final point ${formatPoint(this.finalPoint)})`
  }
}

/**
 * A roll-forward whose block does not extend the current chain: its ancestor is not the tip, or
 * (with `expectedHeight`) its height is not the tip's height + 1.
 */
export class NonContiguousBlock extends Schema.TaggedError<NonContiguousBlock>()("NonContiguousBlock", {
  id: Schema.String,
  height: Schema.Number,
  ancestor: Schema.String,
  expectedAncestor: Schema.String,
  expectedHeight: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.expectedHeight !== undefined
      ? `block ${this.id} (ancestor ${this.ancestor}) has height ${this.height}, but the next block of the current chain has height ${this.expectedHeight}`
      : `block ${this.id} (height ${this.height}) has ancestor ${this.ancestor}, but the current tip is ${this.expectedAncestor}`
  }
}

/** A persisted volatile window that cannot be resumed (too many blocks for the depth, or not a chain). */
export class InvalidResumeWindow extends Schema.TaggedError<InvalidResumeWindow>()("InvalidResumeWindow", {
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot resume the reorg operator from the persisted window: ${this.reason}`
  }
}

export type ReorgError = RollbackTooDeep | UnknownRollbackPoint | NonContiguousBlock
