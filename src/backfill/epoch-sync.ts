/**
 * One attempt at one epoch: intersect at the previous epoch's last block, follow the chain with a
 * pipelined (credit-based) session, hand the blocks to the sink in batches, and stop at the
 * epoch's last block — verified by height, hash, slot and count, never by count alone (a count
 * alone lets a fork of the same length through). Any surprise (a rollback in a finalized epoch, a gap in heights, a
 * block past the boundary) fails the attempt; the caller resets the epoch and retries, and an
 * epoch that does not verify is never committed.
 */
import { Effect, Fiber, Stream } from "effect"
import type { Block } from "../domain/block.js"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import { formatPoint, type PointOrOrigin, samePoint } from "../domain/point.js"
import type { OgmiosError } from "../ogmios/errors.js"
import { Ogmios } from "../services/Ogmios.js"
import { type Batcher, blockBatcher } from "./batch.js"
import type { EpochRow } from "./epoch-index.js"
import { EpochVerificationFailed } from "./errors.js"

export interface EpochSyncRequest {
  readonly epoch: number
  /** The previous epoch's row: the session intersects at its last block. */
  readonly anchor: Pick<EpochRow, "endSlot" | "endHash" | "endHeight">
  /** What the epoch must turn out to be. */
  readonly expected: EpochRow
  readonly batchSize: number
  readonly inFlight: number
}

export interface EpochSyncResult {
  readonly epoch: number
  readonly blocks: number
  readonly lastHeight: number
  readonly bytes: number
}

/** The intersection point: the anchor block, or origin for a chain's first epoch (anchor height -1). */
export const anchorPoint = (anchor: EpochSyncRequest["anchor"]): PointOrOrigin =>
  anchor.endHeight < 0 ? "origin" : { slot: anchor.endSlot, id: anchor.endHash }

/** The epoch's last block is not the one the epoch index names (hash, slot, block count). */
const fail = (epoch: number, check: string, expected: string | number, actual: string | number) =>
  Effect.fail(new EpochVerificationFailed({ epoch, check, expected: String(expected), actual: String(actual) }))

/** The blocks the node sent do not form a chain: `found` says what was seen, in the user's terms. */
const broken = (epoch: number, check: string, expected: string | number, actual: string | number, found: string) =>
  Effect.fail(new EpochVerificationFailed({ epoch, check, expected: String(expected), actual: String(actual), found }))

/**
 * Streams epoch `request.epoch` into `write` (one call per batch of at most `batchSize` blocks,
 * ascending height), batched by `batcher` (default: arrays of the parsed blocks; a sink that
 * encodes blocks as they arrive passes its own, see src/backfill/batch.ts). Writes are
 * sequential — a batch is written only after the previous one completed, and then reported to
 * the batcher as written — but one write may run while the session collects the next batch, so the sink's I/O
 * (a 7–20 MB XADD) overlaps the chain sync instead of idling the socket. A batcher with a part
 * size hands a batch over in parts as its bytes reach it (`partReady`), each written the same way. A slow sink still slows
 * the session: the next batch waits for the write in flight, with at most `inFlight` blocks
 * buffered beyond the two batches. A failed write fails the attempt (at the next flush or at the end).
 */
export function syncEpoch<E, R>(
  request: EpochSyncRequest,
  write: (blocks: ReadonlyArray<Block>) => Effect.Effect<void, E, R>
): Effect.Effect<EpochSyncResult, OgmiosError | EpochVerificationFailed | E, Ogmios | R>
export function syncEpoch<B, E, R>(
  request: EpochSyncRequest,
  write: (batch: B) => Effect.Effect<void, E, R>,
  batcher: Batcher<B>
): Effect.Effect<EpochSyncResult, OgmiosError | EpochVerificationFailed | E, Ogmios | R>
export function syncEpoch<B, E, R>(
  request: EpochSyncRequest,
  write: (batch: B) => Effect.Effect<void, E, R>,
  batcher: Batcher<B> = blockBatcher() as unknown as Batcher<B>
): Effect.Effect<EpochSyncResult, OgmiosError | EpochVerificationFailed | E, Ogmios | R> {
  return Effect.gen(function*() {
    const ogmios = yield* Ogmios
    const { epoch, expected } = request
    const start = anchorPoint(request.anchor)
    // Never ask for much more than the epoch holds: requests past its end are wasted work.
    const inFlight = Math.max(1, Math.min(request.inFlight, expected.blocks + 1))

    let intersected = false
    let count = 0
    let lastHeight = request.anchor.endHeight
    let lastHash = request.anchor.endHash
    let writing: Fiber.Fiber<void, E> | undefined

    /** Waits for the write in flight, if any (its failure fails the attempt). */
    const settle = Effect.suspend(() => {
      const previous = writing
      writing = undefined
      return previous === undefined ? Effect.void : Fiber.join(previous)
    })

    // `complete` false: a part of the batch (the batcher's bytes reached its part size), so a
    // session holds a part in memory, not the whole batch
    const flushPart = (complete: boolean) => Effect.suspend(() => {
      if (batcher.size === 0) return Effect.void
      const out = batcher.take(complete)
      return settle.pipe(
        Effect.andThen(Effect.forkChild(write(out).pipe(Effect.tap(() => Effect.sync(() => batcher.written(out)))))),
        Effect.tap((fiber) => Effect.sync(() => (writing = fiber))),
        Effect.asVoid
      )
    })
    const flush = flushPart(true)
    const flushBytes = flushPart(false)

    const onEvent = (event: ChainSyncEvent): Effect.Effect<void, EpochVerificationFailed | E, R> => {
      if (event._tag === "RollBackward") {
        // The first backward confirms the intersection; any later one is a rollback inside a
        // finalized epoch, which only a node on another chain (or not synced) can send.
        if (!intersected && samePoint(event.point, start)) {
          intersected = true
          return Effect.void
        }
        return broken(epoch, "rollback", `no rollback after ${formatPoint(start)}`, `rollback to ${formatPoint(event.point)}`,
          `the node sent a rollback to ${formatPoint(event.point)} inside this finalized epoch (after the intersection at ${formatPoint(start)})`)
      }
      const block = event.block
      if (!intersected) {
        return broken(epoch, "intersection", formatPoint(start), "a block before the intersection",
          `the node sent block ${block.id} at height ${block.height} before confirming the intersection at ${formatPoint(start)}`)
      }
      if (block.height !== lastHeight + 1) {
        return broken(epoch, "height", lastHeight + 1, block.height,
          `block ${block.id} at height ${block.height} does not follow block ${lastHash} at height ${lastHeight}`)
      }
      if (block.ancestor !== lastHash) {
        return broken(epoch, "ancestor", lastHash, block.ancestor,
          `block ${block.id} at height ${block.height}: its parent hash ${block.ancestor} is not the previous block's (${lastHash} at height ${lastHeight})`)
      }
      if (typeof block.slot === "number" && block.slot > expected.endSlot) {
        return fail(epoch, "overrun", `a last block at slot ${expected.endSlot}`, `block ${block.height} at slot ${block.slot}`)
      }
      count++
      lastHeight = block.height
      lastHash = block.id
      if (block.height === expected.endHeight) {
        if (block.id !== expected.endHash) return fail(epoch, "hash", expected.endHash, block.id)
        if (block.slot !== expected.endSlot) return fail(epoch, "slot", expected.endSlot, String(block.slot))
        if (count !== expected.blocks) return fail(epoch, "count", expected.blocks, count)
      }
      batcher.add(block)
      return batcher.size >= request.batchSize ? flush : batcher.partReady === true ? flushBytes : Effect.void
    }

    let bytes = 0
    yield* ogmios.chainSync([start], { inFlight, blockText: batcher.blockText === true }).pipe(
      Stream.takeUntil((event) => event._tag === "RollForward" && event.block.height >= expected.endHeight),
      Stream.runForEach((event) => {
        if (event._tag === "RollForward" && typeof event.block.size?.bytes === "number") bytes += event.block.size.bytes
        return onEvent(event)
      })
    )
    yield* flush
    yield* settle
    // The stream can also end early (the server stopped before the boundary): that is a short epoch.
    if (lastHeight !== expected.endHeight) return yield* fail(epoch, "count", expected.blocks, count)
    return { epoch, blocks: count, lastHeight, bytes }
  })
}
