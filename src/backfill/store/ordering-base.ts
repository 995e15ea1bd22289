/**
 * The ordering-base rules (docs/redis-contract.md, producer semantics) as a pure decision, shared by the orchestrator and the
 * tests. Input: the `last_synced_epoch` found *before* seeding (undefined in a fresh namespace),
 * the requested start epoch and whether `--rebase-ordering-base` was given.
 *
 *   Seed    base unset             → base := start − 1, low_watermark := start; window unchanged
 *   Exact   base == start − 1      → proceed
 *   Narrow  base ≥ start           → start := base + 1 (warn: epochs start..base are not re-sent)
 *   Refuse  base < start − 1       → UnreachableWindow (exit 11); nothing written
 *   Rebase  base < start − 1 + flag → after the purge, SET last_synced_epoch := start − 1
 *
 * `EpochStore.ensureOrderingBase(start − 1)` reports `seeded`, so call
 * `decideOrderingBase(seeded ? undefined : base, start, …)`.
 */
import { formatEpochRanges, UnreachableWindow } from "../errors.js"

export type OrderingBaseDecision =
  | { readonly _tag: "Seed"; readonly base: number; readonly start: number }
  | { readonly _tag: "Exact"; readonly base: number; readonly start: number }
  | {
    readonly _tag: "Narrow"
    readonly base: number
    readonly requestedStart: number
    readonly start: number
    /** The requested epochs that will not be relayed again. */
    readonly skipped: { readonly from: number; readonly to: number }
    /** True when the narrowed window is empty (start > end). */
    readonly empty: boolean
    readonly warning: string
  }
  | { readonly _tag: "Rebase"; readonly base: number; readonly start: number; readonly newBase: number; readonly warning: string }
  | { readonly _tag: "Refuse"; readonly base: number; readonly start: number; readonly error: UnreachableWindow }

export interface OrderingBaseInput {
  /** last_synced_epoch before seeding; undefined in a fresh namespace. */
  readonly base: number | undefined
  readonly start: number
  /** Inclusive end of the window, if known (to flag an empty narrowed window). */
  readonly end?: number | undefined
  readonly rebase?: boolean | undefined
}

export const decideOrderingBase = (input: OrderingBaseInput): OrderingBaseDecision => {
  const { base, start } = input
  if (base === undefined) return { _tag: "Seed", base: start - 1, start }
  if (base === start - 1) return { _tag: "Exact", base, start }
  if (base >= start) {
    const newStart = base + 1
    const skipped = formatEpochRanges(Array.from({ length: base - start + 1 }, (_, i) => start + i))
    return {
      _tag: "Narrow",
      base,
      requestedStart: start,
      start: newStart,
      skipped: { from: start, to: base },
      empty: input.end !== undefined && newStart > input.end,
      warning: `Narrowing the window to start at epoch ${newStart}: epoch(s) ${skipped} were already delivered here ` +
        `(last_synced_epoch = ${base}) and are skipped; a consumer re-reading them will not receive them again.`
    }
  }
  if (input.rebase === true) {
    const gap = formatEpochRanges(Array.from({ length: start - 1 - base }, (_, i) => base + 1 + i))
    return {
      _tag: "Rebase",
      base,
      start,
      newBase: start - 1,
      warning: `Rebasing the ordering base from ${base} to ${start - 1}: epoch(s) ${gap} are written off as out of scope ` +
        `and will never be delivered here.`
    }
  }
  return { _tag: "Refuse", base, start, error: new UnreachableWindow({ base, startEpoch: start }) }
}
