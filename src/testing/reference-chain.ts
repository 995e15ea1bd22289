/**
 * The model of a node: the canonical chain it holds, driven by history ops, and the
 * ChainSyncEvent sequence a node sends to one client following it.
 *
 * - `forward n`: the node adopts n new blocks on the current branch; the client receives n
 *   RollForwards (tip = the node's tip after the run).
 * - `rollback d`: the node switches fork: it drops its d newest blocks (bounded by the
 *   immutable-tip rule: the new length is >= max length ever seen - k) and later forwards
 *   continue on a new branch. The client receives one RollBackward to the newest common block.
 * - `restart`: the client disconnects and resumes from its persisted state. The node's first
 *   answer after the (re)intersection is a RollBackward to the intersection. It is sent lazily,
 *   with the next op: if that op is a rollback (the fork happened while the client was away), the
 *   intersection *is* the fork point, so the backward-first is a genuine rollback; otherwise it is
 *   the current tip (a no-op). The first session starts the same way (intersection at origin).
 */
import type { Block } from "../domain/block.js"
import { type ChainSyncEvent, RollBackward, RollForward } from "../domain/chain-event.js"
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { testBlock, testPoint, testTip } from "./blocks.js"
import type { History, HistoryOp } from "./history.js"

export class ReferenceChain {
  readonly k: number
  private readonly chain: Array<Block> = []
  private branch = 0
  private branches = 1
  private maxSeen = 0
  private pending = true

  constructor(options: { readonly k: number }) {
    if (!Number.isSafeInteger(options.k) || options.k < 0) throw new RangeError(`k must be an integer >= 0, got ${options.k}`)
    this.k = options.k
  }

  /** The canonical chain, oldest first (index = height). */
  get blocks(): ReadonlyArray<Block> {
    return this.chain
  }

  get length(): number {
    return this.chain.length
  }

  /** The longest the chain has ever been (the immutable tip is maxLength - k). */
  get maxLength(): number {
    return this.maxSeen
  }

  /** The deepest rollback the node may do now: down to max(0, maxLength - k) blocks. */
  get maxRollback(): number {
    return this.chain.length - Math.max(0, this.maxSeen - this.k)
  }

  /** True between a restart and the backward-first that answers it. */
  get awaitingIntersection(): boolean {
    return this.pending
  }

  tip(): TipOrOrigin {
    const last = this.chain.at(-1)
    return last === undefined ? "origin" : testTip(last)
  }

  tipPoint(): PointOrOrigin {
    const last = this.chain.at(-1)
    return last === undefined ? "origin" : testPoint(last)
  }

  /** Applies one op to the node; returns the events the client receives for it. */
  applyOp(op: HistoryOp): ReadonlyArray<ChainSyncEvent> {
    switch (op.op) {
      case "forward": {
        if (!Number.isSafeInteger(op.blocks) || op.blocks < 1) throw new RangeError(`forward needs blocks >= 1, got ${op.blocks}`)
        const out: Array<ChainSyncEvent> = []
        if (this.pending) {
          out.push(RollBackward(this.tipPoint(), this.tip()))
          this.pending = false
        }
        const fresh: Array<Block> = []
        for (let i = 0; i < op.blocks; i++) {
          const height = this.chain.length
          const block = testBlock(this.branch, height, this.chain.at(-1)?.id ?? "genesis")
          this.chain.push(block)
          fresh.push(block)
        }
        this.maxSeen = Math.max(this.maxSeen, this.chain.length)
        const tip = this.tip()
        for (const block of fresh) out.push(RollForward(block, tip))
        return out
      }
      case "rollback": {
        if (!Number.isSafeInteger(op.depth) || op.depth < 0 || op.depth > this.maxRollback) {
          throw new RangeError(
            `rollback depth ${op.depth} not allowed: chain length ${this.chain.length}, max length seen ${this.maxSeen}, k ${this.k} (at most ${this.maxRollback})`
          )
        }
        this.chain.length -= op.depth
        this.branch = this.branches++
        this.pending = false
        return [RollBackward(this.tipPoint(), this.tip())]
      }
      case "restart": {
        this.pending = true
        return []
      }
    }
  }

  /** End of the history: a pending backward-first is still delivered. */
  end(): ReadonlyArray<ChainSyncEvent> {
    if (!this.pending) return []
    this.pending = false
    return [RollBackward(this.tipPoint(), this.tip())]
  }
}

export interface Replay {
  /** Every event the client receives, in order, across all sessions. */
  readonly events: ReadonlyArray<ChainSyncEvent>
  /** Indices into `events` where a session (after a restart) begins; the first session (0) excluded. */
  readonly restarts: ReadonlyArray<number>
  /** The canonical chain at the end. */
  readonly chain: ReadonlyArray<Block>
  readonly maxLength: number
}

/** Runs a whole history through a fresh ReferenceChain. */
export const replay = (history: History): Replay => {
  const model = new ReferenceChain({ k: history.k })
  const events: Array<ChainSyncEvent> = []
  const restarts: Array<number> = []
  for (const op of history.ops) {
    if (op.op === "restart" && restarts.at(-1) !== events.length && events.length > 0) restarts.push(events.length)
    for (const event of model.applyOp(op)) events.push(event)
  }
  for (const event of model.end()) events.push(event)
  return { events, restarts, chain: model.blocks, maxLength: model.maxLength }
}
