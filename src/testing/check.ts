/**
 * Property-test your own chain-sync consumer: `checkConsumer(factory, options)` generates
 * histories with forks and restarts, replays them through the model of a node's chain (reference-chain.ts), feeds the events
 * to consumers built by `factory`, and checks every invariant after every event. On failure it
 * throws a `ConsumerCheckFailed` carrying the shrunk counterexample (as a script), the seed and
 * the replay path.
 */
import fc from "fast-check"
import type { Block } from "../domain/block.js"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import type { ReorgEvent } from "../domain/reorg-event.js"
import { initialState, snapshot, stepOrThrow, type VolatileWindow, windowSize } from "../streams/reorg.js"
import { type History, historyArbitrary, type HistoryArbitraryOptions, type Script, toScript } from "./history.js"
import { EventChecker, InvariantViolation, sameChain, windowBound } from "./invariants.js"
import { ReferenceChain } from "./reference-chain.js"
import { propertyRuns } from "../config/property-runs.js"

type MaybePromise<A> = A | PromiseLike<A>

/** A consumer of chain-sync events that emits reorg events (e.g. the reorg operator + your sink). */
export interface ConsumerUnderTest {
  /** Feeds one event; returns the ReorgEvents it produced for it (may be empty). Throw to fail. */
  readonly push: (event: ChainSyncEvent) => MaybePromise<ReadonlyArray<ReorgEvent>>
  /**
   * What the consumer persists; called at every restart. The value goes through a JSON
   * round-trip and is handed to the factory as `resume`. Without it, restarts keep the consumer.
   */
  readonly persist?: () => MaybePromise<unknown>
  /** Blocks held in memory now; checked against depth + 1 after every event. */
  readonly windowSize?: () => number
  /**
   * The consumer's own view of the current chain (oldest first): its length and tip are checked
   * after every op, the whole chain (ids and content) at the end of each history.
   */
  readonly chain?: () => MaybePromise<ReadonlyArray<Block>>
}

export interface ConsumerContext {
  readonly depth: number
  /** undefined for the first session; the JSON round-trip of `persist()` after a restart */
  readonly resume: unknown
}

export type ConsumerFactory = (context: ConsumerContext) => MaybePromise<ConsumerUnderTest>

export interface RunOptions {
  /** The consumer's finality depth. */
  readonly depth: number
  /** Check that every RollForward's batch starts with its Apply (default true). */
  readonly immediateApply?: boolean
}

export interface CheckOptions extends RunOptions, Omit<HistoryArbitraryOptions, "k"> {
  /** Security parameter of the generated histories (default: depth). Must be <= depth. */
  readonly k?: number
  /** Default: env HECATE_PROPERTY_RUNS, else 100. */
  readonly numRuns?: number
  readonly seed?: number
  /** Replay path of a previous failure (with its seed). */
  readonly path?: string
  /** Use these histories instead of `historyArbitrary`. */
  readonly histories?: fc.Arbitrary<History>
}

export interface RunSummary {
  readonly events: number
  readonly reorgEvents: number
  readonly chainLength: number
  readonly finals: number
  readonly restarts: number
}

export interface CheckReport {
  readonly numRuns: number
  readonly seed: number
}

export class ConsumerCheckFailed extends Error {
  override readonly name = "ConsumerCheckFailed"
  constructor(
    readonly counterexample: History,
    readonly script: Script,
    readonly seed: number,
    readonly path: string,
    readonly numRuns: number,
    override readonly cause: unknown
  ) {
    super(
      `checkConsumer failed after ${numRuns} run(s) (seed ${seed}, path "${path}"): ${
        cause instanceof Error ? cause.message : String(cause)
      }\ncounterexample (k = ${counterexample.k}): ${JSON.stringify(script)}`
    )
  }
}

const isPromiseLike = <A>(value: MaybePromise<A>): value is PromiseLike<A> =>
  typeof (value as { then?: unknown } | null)?.then === "function"

/** Default run count: HECATE_PROPERTY_RUNS, else `fallback`. */
export { propertyRuns }

/** Replays one history through consumers from `factory`; throws InvariantViolation (or the consumer's error). */
export const runConsumer = async (factory: ConsumerFactory, history: History, options: RunOptions): Promise<RunSummary> => {
  const { depth } = options
  if (history.k > depth) throw new RangeError(`history k ${history.k} exceeds consumer depth ${depth}: rollbacks would hit final blocks`)
  const immediate = options.immediateApply ?? true
  const model = new ReferenceChain({ k: history.k })
  const checker = new EventChecker()
  let consumer = await factory({ depth, resume: undefined })
  let events = 0
  let restarts = 0

  const feed = async (event: ChainSyncEvent): Promise<void> => {
    const index = events++
    const result = consumer.push(event)
    const out = isPromiseLike(result) ? await result : result
    if (immediate && event._tag === "RollForward") {
      const first = out[0]
      if (first?._tag !== "Apply" || first.block.id !== event.block.id) {
        throw new InvariantViolation("applyIsImmediate", `roll-forward #${index} of ${event.block.id.slice(0, 12)} did not emit its Apply first`)
      }
    }
    checker.pushAll(out)
    checker.checkFinalAtDepth(depth)
    if (consumer.windowSize) windowBound(consumer.windowSize(), depth)
  }

  const compare = async (full: boolean, opIndex: number): Promise<void> => {
    const expected = model.blocks
    const folded = checker.chain
    if (full) sameChain(folded, expected)
    else if (folded.length !== expected.length || folded.at(-1)?.id !== expected.at(-1)?.id) {
      throw new InvariantViolation(
        "foldApplyUndo",
        `after op #${opIndex}: folded chain has ${folded.length} blocks ending ${folded.at(-1)?.id.slice(0, 12) ?? "at origin"}, canonical has ${expected.length} ending ${expected.at(-1)?.id.slice(0, 12) ?? "at origin"}`
      )
    }
    if (consumer.chain) {
      const result = consumer.chain()
      const own = isPromiseLike(result) ? await result : result
      if (full) sameChain(own, expected)
      else if (own.length !== expected.length || own.at(-1)?.id !== expected.at(-1)?.id) {
        throw new InvariantViolation(
          "sameChain",
          `after op #${opIndex}: the consumer's chain has ${own.length} blocks ending ${own.at(-1)?.id.slice(0, 12) ?? "at origin"}, canonical has ${expected.length} ending ${expected.at(-1)?.id.slice(0, 12) ?? "at origin"}`
        )
      }
    }
  }

  for (const [opIndex, op] of history.ops.entries()) {
    if (op.op === "restart" && consumer.persist) {
      const saved = consumer.persist()
      const persisted: unknown = isPromiseLike(saved) ? await saved : saved
      consumer = await factory({ depth, resume: persisted === undefined ? undefined : JSON.parse(JSON.stringify(persisted)) })
      restarts++
    }
    for (const event of model.applyOp(op)) await feed(event)
    await compare(false, opIndex)
  }
  for (const event of model.end()) await feed(event)
  await compare(true, history.ops.length)
  return { events, reorgEvents: checker.eventCount, chainLength: model.length, finals: checker.finalCount, restarts }
}

/**
 * Property-tests a consumer over generated histories (k = options.k ?? depth). Resolves with the
 * run count; rejects with ConsumerCheckFailed (shrunk counterexample, seed, path) on a violation.
 */
export const checkConsumer = async (factory: ConsumerFactory, options: CheckOptions): Promise<CheckReport> => {
  const k = options.k ?? options.depth
  const histories =
    options.histories ??
    historyArbitrary({
      k,
      ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
      ...(options.minLength === undefined ? {} : { minLength: options.minLength }),
      ...(options.maxRun === undefined ? {} : { maxRun: options.maxRun }),
      ...(options.restarts === undefined ? {} : { restarts: options.restarts }),
      ...(options.weights === undefined ? {} : { weights: options.weights })
    })
  const runOptions: RunOptions = {
    depth: options.depth,
    ...(options.immediateApply === undefined ? {} : { immediateApply: options.immediateApply })
  }
  const details = await fc.check(
    fc.asyncProperty(histories, async (history) => {
      await runConsumer(factory, history, runOptions)
    }),
    {
      numRuns: options.numRuns ?? propertyRuns(),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.path === undefined ? {} : { path: options.path })
    }
  )
  if (details.failed) {
    const counterexample = details.counterexample?.[0]
    if (counterexample === undefined) throw new Error(`checkConsumer: property failed without a counterexample: ${String(details.errorInstance)}`)
    throw new ConsumerCheckFailed(
      counterexample,
      toScript(counterexample),
      details.seed,
      details.counterexamplePath ?? "",
      details.numRuns,
      details.errorInstance
    )
  }
  return { numRuns: details.numRuns, seed: details.seed }
}

/** The Hecate reorg operator (pure core) as a ConsumerUnderTest: the baseline the kit is tested with. */
export const reorgConsumer: ConsumerFactory = ({ depth, resume }) => {
  let state = initialState({ depth, ...(resume === undefined ? {} : { resume: resume as VolatileWindow }) })
  return {
    push: (event) => {
      const next = stepOrThrow(state, event)
      state = next.state
      return next.out
    },
    persist: () => snapshot(state),
    windowSize: () => windowSize(state)
  }
}
