// Shared helpers for the reorg tests: a chain of test blocks and a synchronous run of the pure
// operator over a list of events, with restarts (snapshot -> JSON -> resume) at given indices.
import { Result } from "effect"
import type { Block } from "../../src/domain/block.js"
import { type ChainSyncEvent, RollBackward, RollForward } from "../../src/domain/chain-event.js"
import type { PointOrOrigin } from "../../src/domain/point.js"
import type { ReorgError, ReorgEvent } from "../../src/domain/reorg-event.js"
import { initialState, type ReorgOptions, snapshot, step, type VolatileWindow, windowSize } from "../../src/streams/reorg.js"
import { testBlock, testPoint, testTip } from "../../src/testing/blocks.js"

/** `count` blocks on `branch` from `fromHeight`, extending `parent` (or genesis). */
export const chainOf = (branch: number, count: number, parent?: Block): Array<Block> => {
  const out: Array<Block> = []
  let previous = parent
  for (let i = 0; i < count; i++) {
    const block = testBlock(branch, previous === undefined ? 0 : previous.height + 1, previous?.id ?? "genesis")
    out.push(block)
    previous = block
  }
  return out
}

export const fwd = (block: Block): ChainSyncEvent => RollForward(block, testTip(block))
export const back = (to: Block | "origin"): ChainSyncEvent => {
  const point: PointOrOrigin = to === "origin" ? "origin" : testPoint(to)
  return RollBackward(point, to === "origin" ? "origin" : testTip(to))
}

export interface RunResult {
  readonly batches: ReadonlyArray<ReadonlyArray<ReorgEvent>>
  readonly flat: ReadonlyArray<ReorgEvent>
  readonly windowSizes: ReadonlyArray<number>
  readonly error?: ReorgError
  /** index of the event that failed */
  readonly errorAt?: number
  readonly window: VolatileWindow
}

/** Runs the pure core; at each index in `restartAt` the state is persisted (JSON) and resumed. */
export const runSteps = (
  events: ReadonlyArray<ChainSyncEvent>,
  options: ReorgOptions,
  restartAt: ReadonlySet<number> = new Set()
): RunResult => {
  let state = initialState(options)
  const batches: Array<ReadonlyArray<ReorgEvent>> = []
  const windowSizes: Array<number> = []
  for (const [index, event] of events.entries()) {
    if (restartAt.has(index)) {
      const persisted = JSON.parse(JSON.stringify(snapshot(state))) as VolatileWindow
      state = initialState({ ...options, resume: persisted })
    }
    const result = step(state, event)
    if (Result.isFailure(result)) {
      return { batches, flat: batches.flat(), windowSizes, error: result.failure, errorAt: index, window: snapshot(state) }
    }
    state = result.success.state
    batches.push(result.success.out)
    windowSizes.push(windowSize(state))
  }
  return { batches, flat: batches.flat(), windowSizes, window: snapshot(state) }
}

export const ids = (events: ReadonlyArray<ReorgEvent>): Array<string> =>
  events.map((e) => `${e._tag}:${e.block.height}:${(e.block as { branch?: number }).branch ?? "?"}`)
