/**
 * The bounded window of points the consumer has been *delivered*, used to re-intersect after a
 * reconnect. It mirrors the consumer's view of the chain: forwards append, a RollBackward
 * truncates. Dense near the tip (the last `dense` blocks), then exponentially sparser (a block
 * `d` behind the tip is kept only if its height is a multiple of a step that doubles every
 * `dense` blocks), and nothing further back than `maxDepth`: Ouroboros never rolls back more than
 * k blocks, so ~2k is plenty. Bounded by about dense + dense/2 * log2(maxDepth / dense) entries.
 */
import { blockPoint, type Block } from "../domain/block.js"
import { samePoint, type Point, type PointOrOrigin } from "../domain/point.js"

interface Entry {
  readonly point: PointOrOrigin
  /** block height (estimated for a rollback target that was not in the window) */
  readonly height: number
}

export interface ResumePointsOptions {
  /** most recent blocks kept densely (default 32) */
  readonly dense?: number
  /** depth beyond which points are dropped (default 4320 = 2k on mainnet) */
  readonly maxDepth?: number
  /** slots per Byron epoch, for the points of EBBs (default 21600, mainnet's) */
  readonly byronEpochLength?: number
}

export class ResumePoints {
  private entries: Array<Entry> = []
  private readonly dense: number
  private readonly maxDepth: number
  private readonly byronEpochLength: number | undefined
  /** slot of the last block forward, for an EBB's point */
  private lastSlot = -1
  /** appends since the last thinning: thinning is O(window), so it runs every few blocks */
  private sinceThin = 0

  constructor(options: ResumePointsOptions = {}) {
    this.dense = Math.max(1, options.dense ?? 32)
    this.maxDepth = Math.max(this.dense, options.maxDepth ?? 4320)
    this.byronEpochLength = options.byronEpochLength
  }

  /** The consumer's current position, or undefined if nothing was delivered yet. */
  get cursor(): PointOrOrigin | undefined {
    return this.entries.at(-1)?.point
  }

  get size(): number {
    return this.entries.length
  }

  /** Newest first, the order findIntersection prefers. */
  points(): Array<PointOrOrigin> {
    const out: Array<PointOrOrigin> = []
    for (let i = this.entries.length - 1; i >= 0; i--) out.push(this.entries[i]!.point)
    return out
  }

  forward(block: Block): void {
    const point: Point = blockPoint(block, this.lastSlot, this.byronEpochLength)
    this.lastSlot = point.slot
    this.entries.push({ point, height: Number(block.height) })
    if (++this.sinceThin >= 8) this.thin()
  }

  backward(point: PointOrOrigin): void {
    if (point === "origin") {
      this.entries = [{ point, height: -1 }]
      this.lastSlot = -1
      return
    }
    const at = this.entries.findLastIndex((e) => samePoint(e.point, point))
    if (at >= 0) {
      this.entries.length = at + 1
    } else {
      // a point between two sparse entries (or older than the window): keep what precedes it
      let keep = this.entries.length
      while (keep > 0) {
        const p = this.entries[keep - 1]!.point
        if (p === "origin" || p.slot < point.slot) break
        keep--
      }
      this.entries.length = keep
      this.entries.push({ point, height: (this.entries.at(-1)?.height ?? -1) + 1 })
    }
    this.lastSlot = point.slot
  }

  private thin(): void {
    this.sinceThin = 0
    const tipHeight = this.entries.at(-1)!.height
    const limit = this.entries.length - this.dense
    if (limit <= 0) return
    let w = 0
    for (let r = 0; r < this.entries.length; r++) {
      const entry = this.entries[r]!
      if (r < limit && !this.keep(tipHeight - entry.height, entry.height)) continue
      this.entries[w++] = entry
    }
    this.entries.length = w
  }

  private keep(depth: number, height: number): boolean {
    if (depth < this.dense) return true
    if (depth > this.maxDepth) return false
    // step doubles every `dense` blocks of depth: 2, 4, 8, ...
    const step = 2 ** Math.floor(Math.log2(depth / this.dense) + 1)
    return height % step === 0
  }
}
