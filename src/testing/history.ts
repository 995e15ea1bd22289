/**
 * Chain histories: what a node does, as a list of ops, and fast-check arbitraries for them.
 *
 * The op list is also the plain, serialisable *script* the simulator replays over a socket:
 *   { op: "forward", blocks: n }   the node forges n blocks (simulator: forge(n))
 *   { op: "rollback", depth: d }   the node drops its d newest blocks; later blocks form a new fork
 *                                  (simulator: rollback(d)); d respects the immutable-tip rule
 *   { op: "restart" }              the client disconnects and resumes from its persisted window
 */
import fc from "fast-check"
import { ReferenceChain } from "./reference-chain.js"

export type HistoryOp =
  | { readonly op: "forward"; readonly blocks: number }
  | { readonly op: "rollback"; readonly depth: number }
  | { readonly op: "restart" }

/** A history for security parameter k: every rollback is allowed by the immutable-tip rule. */
export interface History {
  readonly k: number
  readonly ops: ReadonlyArray<HistoryOp>
}

export type Script = Array<HistoryOp>

/** The plain JSON form of a history (fresh objects, only the op fields). */
export const toScript = (history: History): Script =>
  history.ops.map((op): HistoryOp => {
    switch (op.op) {
      case "forward":
        return { op: "forward", blocks: op.blocks }
      case "rollback":
        return { op: "rollback", depth: op.depth }
      case "restart":
        return { op: "restart" }
    }
  })

/**
 * Validates a script (e.g. parsed JSON, a counterexample pasted into a regression test) against
 * the model chain (reference-chain.ts). @throws RangeError / TypeError naming the first bad op.
 */
export const fromScript = (script: ReadonlyArray<unknown>, options: { readonly k: number }): History => {
  const model = new ReferenceChain(options)
  const ops: Array<HistoryOp> = []
  script.forEach((raw, index) => {
    const op = raw as Partial<Record<"op" | "blocks" | "depth", unknown>> | null
    let parsed: HistoryOp
    if (op?.op === "forward" && typeof op.blocks === "number") parsed = { op: "forward", blocks: op.blocks }
    else if (op?.op === "rollback" && typeof op.depth === "number") parsed = { op: "rollback", depth: op.depth }
    else if (op?.op === "restart") parsed = { op: "restart" }
    else throw new TypeError(`script op ${index} is not forward/rollback/restart: ${JSON.stringify(raw)}`)
    try {
      model.applyOp(parsed)
    } catch (error) {
      throw new RangeError(`script op ${index}: ${(error as Error).message}`)
    }
    ops.push(parsed)
  })
  return { k: options.k, ops }
}

export interface HistoryArbitraryOptions {
  /** Security parameter: the deepest rollback, bounded by the immutable tip (max length - k). */
  readonly k: number
  /** Maximum number of ops (default 200). */
  readonly maxLength?: number
  /** Minimum number of ops (default 0). */
  readonly minLength?: number
  /** Longest forward run (default 2k, at least 1). */
  readonly maxRun?: number
  /** Include restart ops (default true). */
  readonly restarts?: boolean
  /** Relative weights of the op kinds (defaults: forward 5, rollback 3, deepest rollback 1, restart 1). */
  readonly weights?: {
    readonly forward?: number
    readonly rollback?: number
    readonly deepest?: number
    readonly restart?: number
  }
}

type RawOp =
  | { readonly op: "forward"; readonly blocks: number }
  | { readonly op: "rollback"; readonly depth: number }
  | { readonly op: "restart" }

/** Clamps raw rollback depths to what the immutable-tip rule allows at that point. */
const normalise = (k: number, raw: ReadonlyArray<RawOp>): History => {
  let length = 0
  let maxSeen = 0
  const ops: Array<HistoryOp> = []
  for (const op of raw) {
    if (op.op === "forward") {
      length += op.blocks
      maxSeen = Math.max(maxSeen, length)
      ops.push(op)
    } else if (op.op === "rollback") {
      const depth = Math.min(op.depth, length - Math.max(0, maxSeen - k))
      length -= depth
      ops.push({ op: "rollback", depth })
    } else ops.push(op)
  }
  return { k, ops }
}

/**
 * Histories with forks: forward runs, rollbacks of any depth up to k (to origin while the chain
 * has never been longer than k; to the immutable tip otherwise), and restarts at any point.
 * Rollback depths are drawn in [0, k] and clamped to the immutable-tip rule, so they often hit the
 * window edge exactly; a "deepest" op always rolls back as far as allowed. Shrinks towards fewer,
 * shorter ops.
 */
export const historyArbitrary = (options: HistoryArbitraryOptions): fc.Arbitrary<History> => {
  const k = options.k
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`k must be an integer >= 0, got ${k}`)
  const maxRun = Math.max(1, options.maxRun ?? 2 * k)
  const weights = options.weights ?? {}
  const kinds: Array<fc.WeightedArbitrary<RawOp>> = [
    { weight: weights.forward ?? 5, arbitrary: fc.integer({ min: 1, max: maxRun }).map((blocks): RawOp => ({ op: "forward", blocks })) },
    { weight: weights.rollback ?? 3, arbitrary: fc.integer({ min: 0, max: k }).map((depth): RawOp => ({ op: "rollback", depth })) },
    { weight: weights.deepest ?? 1, arbitrary: fc.constant<RawOp>({ op: "rollback", depth: Number.MAX_SAFE_INTEGER }) }
  ]
  if (options.restarts ?? true) kinds.push({ weight: weights.restart ?? 1, arbitrary: fc.constant<RawOp>({ op: "restart" }) })
  return fc
    .array(fc.oneof(...kinds.filter((kind) => kind.weight > 0)), {
      minLength: options.minLength ?? 0,
      maxLength: options.maxLength ?? 200,
      // fast-check's default size caps arrays at ~10 elements; histories must be long to matter
      size: "max"
    })
    .map((raw) => normalise(k, raw))
}
