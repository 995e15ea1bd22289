/**
 * Reusable invariants over ReorgEvent sequences. Each throws an `InvariantViolation` naming the
 * invariant and the event index; `EventChecker` checks all of them incrementally (O(1) per event)
 * and is what `checkConsumer` uses.
 */
import { isDeepStrictEqual } from "node:util"
import type { Block } from "../domain/block.js"
import type { ReorgEvent } from "../domain/reorg-event.js"

export type InvariantName =
  | "foldApplyUndo"
  | "finalIsPrefix"
  | "undoMirrorsApply"
  | "windowBound"
  | "noDuplicates"
  | "finalAtDepth"
  | "applyIsImmediate"
  | "sameChain"

export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation"
  constructor(
    readonly invariant: InvariantName,
    message: string,
    /** index of the offending event in the sequence checked, when there is one */
    readonly index?: number
  ) {
    super(`${invariant}: ${message}${index === undefined ? "" : ` (event #${index})`}`)
  }
}

const short = (block: Block): string => `${block.id.slice(0, 12)}@${block.height}`

/** Incremental checker: feed events in order; it keeps the folded chain and the final count. */
export class EventChecker {
  private readonly live: Array<Block> = []
  private readonly liveIds = new Set<string>()
  private finals = 0
  private maxLive = 0
  private index = 0

  /** The chain folded from Apply/Undo so far (oldest first). */
  get chain(): ReadonlyArray<Block> {
    return this.live
  }

  get finalCount(): number {
    return this.finals
  }

  /** The longest the folded chain has been. */
  get maxLength(): number {
    return this.maxLive
  }

  get eventCount(): number {
    return this.index
  }

  push(event: ReorgEvent): void {
    const index = this.index++
    const block = event.block
    switch (event._tag) {
      case "Apply": {
        if (this.liveIds.has(block.id)) {
          throw new InvariantViolation("noDuplicates", `block ${short(block)} applied while already on the chain`, index)
        }
        this.live.push(block)
        this.liveIds.add(block.id)
        this.maxLive = Math.max(this.maxLive, this.live.length)
        return
      }
      case "Undo": {
        const top = this.live.at(-1)
        if (top === undefined) throw new InvariantViolation("undoMirrorsApply", `undo of ${short(block)} with nothing applied`, index)
        if (top.id !== block.id) {
          const applied = this.liveIds.has(block.id)
          throw new InvariantViolation(
            "undoMirrorsApply",
            `undo of ${short(block)} but the newest applied block is ${short(top)}${applied ? " (undos must come newest first)" : " (it was never applied)"}`,
            index
          )
        }
        if (this.live.length <= this.finals) {
          throw new InvariantViolation("finalIsPrefix", `final block ${short(block)} undone`, index)
        }
        if (!isDeepStrictEqual(top, block)) {
          throw new InvariantViolation("undoMirrorsApply", `undo of ${short(block)} carries different content than its apply`, index)
        }
        this.live.pop()
        this.liveIds.delete(block.id)
        return
      }
      case "Final": {
        const expected = this.live[this.finals]
        if (expected === undefined) {
          throw new InvariantViolation(
            "finalIsPrefix",
            `final of ${short(block)} but only ${this.live.length} blocks are applied and ${this.finals} already final`,
            index
          )
        }
        if (expected.id !== block.id) {
          const already = this.live.slice(0, this.finals).some((b) => b.id === block.id)
          throw new InvariantViolation(
            already ? "noDuplicates" : "finalIsPrefix",
            already ? `block ${short(block)} finalised twice` : `final of ${short(block)} but the next block in chain order is ${short(expected)}`,
            index
          )
        }
        if (!isDeepStrictEqual(expected, block)) {
          throw new InvariantViolation("finalIsPrefix", `final of ${short(block)} carries different content than its apply`, index)
        }
        this.finals++
        return
      }
    }
  }

  pushAll(events: Iterable<ReorgEvent>): void {
    for (const event of events) this.push(event)
  }

  /**
   * Finality is timely and exact: after a block has been `depth` deep on the longest chain seen,
   * it is final, and nothing shallower is (finals = max(0, maxLength - depth)).
   */
  checkFinalAtDepth(depth: number): void {
    const expected = Math.max(0, this.maxLive - depth)
    if (this.finals !== expected) {
      throw new InvariantViolation(
        "finalAtDepth",
        `${this.finals} blocks final, expected ${expected} (longest chain ${this.maxLive}, depth ${depth})`,
        this.index - 1
      )
    }
  }
}

/**
 * Folds Apply/Undo over an empty chain (Final is ignored), calling `onUndo` with each Undo, the
 * block it pops (undefined on an empty chain) and its index, so each invariant says what it checks.
 */
const foldWith = (events: Iterable<ReorgEvent>, onUndo: (undo: Block, top: Block | undefined, index: number) => void): Array<Block> => {
  const live: Array<Block> = []
  let index = 0
  for (const event of events) {
    if (event._tag === "Apply") live.push(event.block)
    else if (event._tag === "Undo") onUndo(event.block, live.pop(), index)
    index++
  }
  return live
}

/** Folds Apply/Undo over an empty chain (Final is ignored); throws if an Undo is not the newest block. */
export const foldApplyUndo = (events: Iterable<ReorgEvent>): Array<Block> =>
  foldWith(events, (undo, top, index) => {
    if (top?.id !== undo.id) throw new InvariantViolation("foldApplyUndo", `undo of ${short(undo)} is not the newest block`, index)
  })

/** Two chains are the same: same blocks (by id) in the same order, with the same content. */
export const sameChain = (actual: ReadonlyArray<Block>, expected: ReadonlyArray<Block>): void => {
  const n = Math.max(actual.length, expected.length)
  for (let i = 0; i < n; i++) {
    const a = actual[i]
    const e = expected[i]
    if (a === undefined || e === undefined || a.id !== e.id) {
      throw new InvariantViolation(
        "sameChain",
        `chains differ at position ${i}: got ${a ? short(a) : "nothing"}, expected ${e ? short(e) : "nothing"} (lengths ${actual.length} vs ${expected.length})`
      )
    }
    if (!isDeepStrictEqual(a, e)) throw new InvariantViolation("sameChain", `block ${short(a)} content differs at position ${i}`)
  }
}

/**
 * The Final events form a prefix of the chain (of `canonical` when given, else of the chain folded
 * from the same events), in chain order, each once, and no final block is ever undone.
 */
export const finalIsPrefix = (events: Iterable<ReorgEvent>, canonical?: ReadonlyArray<Block>): void => {
  const checker = new EventChecker()
  checker.pushAll(events)
  if (canonical !== undefined) sameChain(checker.chain.slice(0, checker.finalCount), canonical.slice(0, checker.finalCount))
}

/** Each Undo is the exact mirror (same id, same content) of the newest live Apply. */
export const undoMirrorsApply = (events: Iterable<ReorgEvent>): void => {
  foldWith(events, (undo, top, index) => {
    if (top === undefined || top.id !== undo.id || !isDeepStrictEqual(top, undo)) {
      throw new InvariantViolation("undoMirrorsApply", `undo of ${short(undo)} does not mirror the newest apply${top ? ` (${short(top)})` : ""}`, index)
    }
  })
}

/** No block is applied while already applied, and none is finalised twice. */
export const noDuplicates = (events: Iterable<ReorgEvent>): void => {
  const live = new Set<string>()
  const stack: Array<string> = []
  const finals = new Set<string>()
  let index = 0
  for (const event of events) {
    const id = event.block.id
    if (event._tag === "Apply") {
      if (live.has(id)) throw new InvariantViolation("noDuplicates", `block ${short(event.block)} applied twice`, index)
      live.add(id)
      stack.push(id)
    } else if (event._tag === "Undo") {
      const top = stack.pop()
      if (top !== undefined) live.delete(top)
    } else {
      if (finals.has(id)) throw new InvariantViolation("noDuplicates", `block ${short(event.block)} finalised twice`, index)
      finals.add(id)
    }
    index++
  }
}

/** Every observed window size is at most depth + 1 blocks. */
export const windowBound = (sizes: number | Iterable<number>, depth: number): void => {
  let index = 0
  for (const size of typeof sizes === "number" ? [sizes] : sizes) {
    if (size > depth + 1) {
      throw new InvariantViolation("windowBound", `window holds ${size} blocks, more than depth + 1 = ${depth + 1}`, index)
    }
    index++
  }
}
