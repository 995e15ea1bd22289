/**
 * The rollback-aware reorg operator: ChainSyncEvent (RollForward | RollBackward) in,
 * ReorgEvent (Apply | Undo | Final) out, over a bounded volatile window.
 *
 * Pure core + thin wrappers:
 * - `initialState(options)` / `step(state, event)` is the whole algorithm. `step` returns a
 *   `Result` (typed error, never a throw for protocol problems). Each step is O(1) amortised per
 *   block: the window is a ring buffer, a rollback of d blocks costs O(d).
 * - `reorg(options)` is the RxJS operator, 1:1: exactly one output batch (possibly empty) per input
 *   event, so a credit-based source can acknowledge each input once its batch has been handled.
 * - `reorgEvents(options)` is the flattened form (one ReorgEvent per emission, not 1:1).
 * - In an Effect Stream, use `step` directly: `Stream.mapAccumEffect(() => initialState(o),
 *   (s, e) => Effect.map(Effect.fromResult(step(s, e)), ({ state, out }) => [state, out]))`.
 *
 * Semantics
 * - Apply is emitted as soon as a block arrives; once the window holds more than `depth`
 *   volatile blocks the oldest becomes Final (so a block is final when `depth` blocks sit on top
 *   of it). Finality is monotone: the last final point is max-height-seen - depth, which is
 *   exactly the node's immutable tip when depth = k, and the window never holds more than
 *   `depth` volatile blocks (+ the last final point, so depth + 1 entries).
 * - RollBackward to a point in the window undoes every newer block, newest first, each Undo
 *   carrying the content that was applied. A backward to the newest block (e.g. the first
 *   backward after a (re)intersection) undoes nothing; to the last final point it undoes the whole
 *   window; to origin it undoes everything when nothing was finalised yet.
 * - While the operator holds nothing (empty window, no block ever finalised: a fresh start), a
 *   backward to any point adopts it as the starting point: that is the intersection of a session
 *   that does not start at origin.
 * - Anything else fails with a typed error: RollbackTooDeep (behind the last final point, or
 *   origin after finalisation), UnknownRollbackPoint (not on the current chain), and, unless
 *   `checkAncestry: false`, NonContiguousBlock (a forward whose ancestor is not the current tip).
 *   On failure the input state is left untouched and remains usable.
 *
 * Points are matched by block id (header hash). EBB points (no slot on the block) are derived
 * with `blockPoint` from the previous block's slot.
 *
 * State ownership: `step` consumes its input state (the ring buffer is updated in place, that is
 * what makes it O(1)); using a state after it was stepped throws. To fork or persist a state,
 * use `snapshot(state)` and `initialState({ resume })`.
 */
import { Effect, Result, Stream } from "effect"
import { Observable, type OperatorFunction } from "rxjs"
import { type Block, blockPoint } from "../domain/block.js"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import type { Point, PointOrOrigin } from "../domain/point.js"
import {
  Apply,
  Final,
  InvalidResumeWindow,
  NonContiguousBlock,
  type ReorgError,
  type ReorgEvent,
  RollbackTooDeep,
  Undo,
  UnknownRollbackPoint
} from "../domain/reorg-event.js"
import { Ring } from "./reorg-ring.js"

/** Cardano mainnet security parameter: rollbacks are at most k blocks deep. */
export const DEFAULT_DEPTH = 2160

/**
 * What has to be persisted to resume the operator: the blocks not yet final (oldest first, full
 * content) and the last final point (or the session's start point, or origin) with its height.
 * Plain JSON data (use the lossless JSON module if blocks carry bigints).
 */
export interface VolatileWindow {
  readonly final: {
    readonly point: PointOrOrigin
    readonly height: number | null
    /**
     * true when the point is only where the session started (a relay started at the tip), not a
     * block published as final: a rollback past it undoes the window and moves the start back to
     * the rollback point. Absent: a point other than origin is final.
     */
    readonly provisional?: boolean
  }
  readonly blocks: ReadonlyArray<Block>
}

export interface ReorgOptions {
  /** Blocks on top of a block before it is final. Default k = 2160. Integer >= 0. */
  readonly depth?: number
  /** A window persisted by `snapshot` in a previous run. */
  readonly resume?: VolatileWindow
  /** Check that each forward extends the current tip (by `ancestor`). Default true. */
  readonly checkAncestry?: boolean
  /** Slots per Byron epoch, for the points of EBBs. Default 21600 (mainnet's). */
  readonly byronEpochLength?: number
  /**
   * What the window keeps of an applied block, and so what its Undo and Final carry. Default: the
   * block itself. A sink that has written the block by the time it is undone or final and needs
   * only its point then (the Redis relay: an undo entry is copied server-side from the apply
   * entry) keeps `blockHeader`, so the block's content is freed once written instead of living
   * `depth` blocks long. `snapshot` then persists what the window kept.
   */
  readonly windowBlock?: (block: Block) => Block
}

interface Entry {
  readonly block: Block
  readonly point: Point
}

interface Anchor {
  readonly point: PointOrOrigin
  readonly height: number | null
  /** true when downstream holds this point as final (finalised here, or resumed) */
  readonly final: boolean
}

/** @internal mutable core, owned by exactly one live ReorgState */
class Core {
  generation = 0
  constructor(
    readonly ring: Ring<Entry>,
    public anchor: Anchor,
    readonly byronEpochLength: number | undefined,
    readonly windowBlock: ((block: Block) => Block) | undefined
  ) {}
}

/** The operator state. Opaque; consumed by `step` (see the module notes on ownership). */
export class ReorgState {
  /** @internal */
  constructor(
    readonly depth: number,
    readonly checkAncestry: boolean,
    /** @internal */ readonly core: Core,
    /** @internal */ readonly generation: number
  ) {}
}

export interface StepOutput {
  readonly state: ReorgState
  readonly out: ReadonlyArray<ReorgEvent>
}

const anchorSlot = (anchor: Anchor): number => (anchor.point === "origin" ? -1 : anchor.point.slot)

/**
 * A fresh state, or one resumed from a persisted window.
 * @throws InvalidResumeWindow if `resume` holds more than `depth` blocks or is not a chain.
 * @throws RangeError if depth is not an integer >= 0.
 */
export const initialState = (options: ReorgOptions = {}): ReorgState => {
  const depth = options.depth ?? DEFAULT_DEPTH
  if (!Number.isSafeInteger(depth) || depth < 0) throw new RangeError(`reorg depth must be an integer >= 0, got ${depth}`)
  const checkAncestry = options.checkAncestry ?? true
  const ring = new Ring<Entry>(Math.min(depth + 1, 64))
  const resume = options.resume
  if (resume === undefined) {
    return new ReorgState(depth, checkAncestry, new Core(ring, { point: "origin", height: null, final: false }, options.byronEpochLength, options.windowBlock), 0)
  }
  if (resume.blocks.length > depth) {
    throw new InvalidResumeWindow({ reason: `it holds ${resume.blocks.length} volatile blocks, more than depth ${depth}` })
  }
  const anchor: Anchor = {
    point: resume.final.point,
    height: resume.final.height,
    final: resume.final.point !== "origin" && resume.final.provisional !== true
  }
  let previousSlot = anchorSlot(anchor)
  let expectedAncestor = anchor.point === "origin" ? undefined : anchor.point.id
  for (const block of resume.blocks) {
    if (checkAncestry && expectedAncestor !== undefined && block.ancestor !== expectedAncestor) {
      throw new InvalidResumeWindow({
        reason: `block ${block.id} has ancestor ${block.ancestor}, expected ${expectedAncestor}`
      })
    }
    const point = blockPoint(block, previousSlot, options.byronEpochLength)
    ring.pushNewest({ block, point })
    previousSlot = point.slot
    expectedAncestor = block.id
  }
  return new ReorgState(depth, checkAncestry, new Core(ring, anchor, options.byronEpochLength, options.windowBlock), 0)
}

const takeCore = (state: ReorgState): Core => {
  const core = state.core
  if (core.generation !== state.generation) {
    throw new Error(
      "ReorgState reused after it was stepped: step() consumes its input state; fork with snapshot() + initialState({ resume })"
    )
  }
  return core
}

const advance = (state: ReorgState, core: Core, out: ReadonlyArray<ReorgEvent>): Result.Result<StepOutput, never> => {
  core.generation++
  return Result.succeed({ state: new ReorgState(state.depth, state.checkAncestry, core, core.generation), out })
}

const tipHeight = (core: Core): number | null => core.ring.newest()?.block.height ?? core.anchor.height

/** One input event. O(1) amortised for forwards, O(d) for a rollback of d blocks. */
export const step = (state: ReorgState, event: ChainSyncEvent): Result.Result<StepOutput, ReorgError> => stepWith(state, event, undefined)

/** `step`, also pushing the point of each output event's block onto `points` when given. */
const stepWith = (state: ReorgState, event: ChainSyncEvent, points: Array<Point> | undefined): Result.Result<StepOutput, ReorgError> => {
  const core = takeCore(state)
  const ring = core.ring
  if (event._tag === "RollForward") {
    const block = event.block
    const newest = ring.newest()
    if (state.checkAncestry) {
      const expected = newest !== undefined ? newest.block.id : core.anchor.point === "origin" ? undefined : core.anchor.point.id
      if (expected !== undefined && block.ancestor !== expected) {
        return Result.fail(
          new NonContiguousBlock({ id: block.id, height: block.height, ancestor: block.ancestor, expectedAncestor: expected })
        )
      }
      // A right parent hash with a wrong height is just as broken a chain: heights count blocks,
      // so every block is its parent's height + 1 (an EBB shares its parent's height).
      const parentHeight = tipHeight(core)
      if (parentHeight !== null && block.height !== parentHeight + (block.type === "ebb" ? 0 : 1)) {
        return Result.fail(
          new NonContiguousBlock({
            id: block.id,
            height: block.height,
            ancestor: block.ancestor,
            expectedAncestor: expected ?? "genesis",
            expectedHeight: parentHeight + (block.type === "ebb" ? 0 : 1)
          })
        )
      }
    }
    const point = blockPoint(block, newest !== undefined ? newest.point.slot : anchorSlot(core.anchor), core.byronEpochLength)
    ring.pushNewest({ block: core.windowBlock === undefined ? block : core.windowBlock(block), point })
    const out: Array<ReorgEvent> = [Apply(block, event.tip)]
    points?.push(point)
    while (ring.size > state.depth) {
      const oldest = ring.popOldest()!
      out.push(Final(oldest.block))
      points?.push(oldest.point)
      core.anchor = { point: oldest.point, height: oldest.block.height, final: true }
    }
    return advance(state, core, out)
  }

  // RollBackward
  const target = event.point
  let keep = -1 // number of window entries that stay; -1: not found
  if (target !== "origin") {
    for (let i = ring.size - 1; i >= 0; i--) {
      if (ring.at(i)!.point.id === target.id) {
        keep = i + 1
        break
      }
    }
  }
  if (keep === -1) {
    const anchor = core.anchor
    if (target === "origin" ? anchor.point === "origin" : anchor.point !== "origin" && anchor.point.id === target.id) {
      keep = 0
    } else if (ring.size === 0 && !anchor.final && anchor.point === "origin") {
      // nothing held downstream: this is the intersection of a session starting at `target`
      core.anchor = { point: target, height: null, final: false }
      return advance(state, core, [])
    } else if (!anchor.final && anchor.point !== "origin" && (target === "origin" || target.slot <= anchor.point.slot)) {
      // The chain forked below the point this session started at, and nothing was finalised
      // yet: every block held left the chain. Undo them all; the rollback point, which the node
      // reported, is the new start.
      const out: Array<ReorgEvent> = []
      while (ring.size > 0) out.push(undo(ring.popNewest()!, points))
      core.anchor = { point: target, height: null, final: false }
      return advance(state, core, out)
    } else if (target === "origin" || (anchor.point !== "origin" && target.slot < anchor.point.slot)) {
      const height = tipHeight(core)
      return Result.fail(
        new RollbackTooDeep({
          point: target,
          depth: target === "origin" && height !== null ? Math.max(height + 1, ring.size + 1) : ring.size + 1,
          windowDepth: ring.size,
          finalPoint: anchor.point
        })
      )
    } else {
      return Result.fail(new UnknownRollbackPoint({ point: target, windowDepth: ring.size, finalPoint: anchor.point }))
    }
  }
  const out: Array<ReorgEvent> = []
  while (ring.size > keep) out.push(undo(ring.popNewest()!, points))
  return advance(state, core, out)
}

const undo = (entry: Entry, points: Array<Point> | undefined): ReorgEvent => {
  points?.push(entry.point)
  return Undo(entry.block)
}

/** `step` that throws the typed error instead of returning it (for imperative callers). */
export const stepOrThrow = (state: ReorgState, event: ChainSyncEvent): StepOutput => {
  const result = step(state, event)
  if (Result.isFailure(result)) throw result.failure
  return result.success
}

/** What to persist to resume later: plain data, independent of the (reusable) state. */
export const snapshot = (state: ReorgState): VolatileWindow => {
  const core = takeCore(state)
  const provisional = !core.anchor.final && core.anchor.point !== "origin"
  return {
    final: { point: core.anchor.point, height: core.anchor.height, ...(provisional ? { provisional } : {}) },
    blocks: core.ring.toArray().map((entry) => entry.block)
  }
}

/** Number of volatile blocks held now (never more than depth). */
export const windowSize = (state: ReorgState): number => takeCore(state).ring.size

/** The last final point (or the start point / origin when nothing was finalised). */
export const finalPoint = (state: ReorgState): PointOrOrigin => takeCore(state).anchor.point

/** The point of the newest block of the current chain (the final point if the window is empty). */
export const tipPoint = (state: ReorgState): PointOrOrigin => {
  const core = takeCore(state)
  return core.ring.newest()?.point ?? core.anchor.point
}

/** One input's step: the next state and the step's output, which `emit` turns into emissions. */
type Advance<O> = (state: ReorgState, event: ChainSyncEvent) => Result.Result<{ readonly state: ReorgState; readonly output: O }, ReorgError>

const advanceEvents: Advance<ReadonlyArray<ReorgEvent>> = (state, event) =>
  Result.map(step(state, event), ({ out, state: next }) => ({ state: next, output: out }))

const operator = <O, B>(
  options: ReorgOptions,
  advance: Advance<O>,
  emit: (next: (b: B) => void, output: O) => void
): OperatorFunction<ChainSyncEvent, B> => (source) =>
  new Observable<B>((subscriber) => {
    let state: ReorgState
    try {
      state = initialState(options) // one state per subscription
    } catch (error) {
      subscriber.error(error)
      return
    }
    return source.subscribe({
      // A throw here (a malformed event) errors this Observable, instead of escaping to RxJS's
      // global unhandled-error hook while the source keeps going.
      next: (event) => {
        try {
          const result = advance(state, event)
          if (Result.isFailure(result)) {
            subscriber.error(result.failure)
            return
          }
          state = result.success.state // before emitting: a synchronous ack may re-enter next()
          emit((b) => subscriber.next(b), result.success.output)
        } catch (error) {
          subscriber.error(error)
        }
      },
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete()
    })
  })

/**
 * RxJS operator, 1:1: one `ReadonlyArray<ReorgEvent>` per input event (empty when the event
 * changes nothing, e.g. the backward-first of a session). With a credit-based source, grant one
 * credit per *batch* once all of its events are written: `concatMap(batch => write(batch))` then
 * `request(1)`. Errors (RollbackTooDeep, UnknownRollbackPoint, NonContiguousBlock) are emitted as
 * Observable errors. Each subscription has its own state.
 */
export const reorg = (options: ReorgOptions = {}): OperatorFunction<ChainSyncEvent, ReadonlyArray<ReorgEvent>> =>
  operator(options, advanceEvents, (next, out: ReadonlyArray<ReorgEvent>) => next(out))

/**
 * One output of `reorgBatches`: the input's events, the point of each event's block (`points[i]`
 * is `events[i]`'s, as the operator computed it: an EBB's slot follows from the block before it,
 * which a sink seeing one batch cannot know), and `restart` when the input moved a provisional
 * start point back (a rollback below the point a session started at, before anything was final;
 * `events` then undoes everything applied since). A sink that persists the operator's position
 * records `restart` as its new start point, so a restart intersects where the node is.
 */
export interface ReorgBatch {
  readonly events: ReadonlyArray<ReorgEvent>
  readonly points: ReadonlyArray<Point>
  readonly restart?: PointOrOrigin
}

export interface BatchStepOutput {
  readonly state: ReorgState
  readonly batch: ReorgBatch
}

/** `step` with the points of the events' blocks and the start point's moves: one `ReorgBatch` per input. */
export const stepBatch = (state: ReorgState, event: ChainSyncEvent): Result.Result<BatchStepOutput, ReorgError> => {
  const before = takeCore(state).anchor
  const points: Array<Point> = []
  const result = stepWith(state, event, points)
  if (Result.isFailure(result)) return Result.fail(result.failure)
  const { out, state: next } = result.success
  const after = next.core.anchor
  const moved = event._tag === "RollBackward" && after !== before && !after.final
  return Result.succeed({ state: next, batch: moved ? { events: out, points, restart: after.point } : { events: out, points } })
}

/** `reorg` with the blocks' points and the start point's moves: 1:1, one `ReorgBatch` per input event. */
export const reorgBatches = (options: ReorgOptions = {}): OperatorFunction<ChainSyncEvent, ReorgBatch> =>
  operator(
    options,
    (state, event) => Result.map(stepBatch(state, event), ({ batch, state: next }) => ({ state: next, output: batch })),
    (next, batch: ReorgBatch) => next(batch)
  )

/** Flattened form of `reorg`: one ReorgEvent per emission. Not 1:1, so not for per-input credit. */
export const reorgEvents = (options: ReorgOptions = {}): OperatorFunction<ChainSyncEvent, ReorgEvent> =>
  operator<ReadonlyArray<ReorgEvent>, ReorgEvent>(options, advanceEvents, (next, out) => {
    for (const event of out) next(event)
  })

/** Effect Stream stage built on `step` (no RxJS): one output batch per input event. */
export const reorgStream =
  (options: ReorgOptions = {}) =>
  <E, R>(self: Stream.Stream<ChainSyncEvent, E, R>): Stream.Stream<ReadonlyArray<ReorgEvent>, E | ReorgError, R> =>
    self.pipe(
      Stream.mapAccumEffect(
        () => initialState(options),
        (state, event: ChainSyncEvent) =>
          Effect.map(Effect.fromResult(step(state, event)), ({ out, state }) => [state, [out]] as const)
      )
    )
