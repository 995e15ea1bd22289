import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Block } from "../../src/domain/block.js"
import { Apply, Final, type ReorgEvent, Undo } from "../../src/domain/reorg-event.js"
import {
  checkConsumer,
  ConsumerCheckFailed,
  type ConsumerFactory,
  EventChecker,
  finalIsPrefix,
  foldApplyUndo,
  fromScript,
  historyArbitrary,
  InvariantViolation,
  noDuplicates,
  ReferenceChain,
  reorgConsumer,
  replay,
  runConsumer,
  testBlock,
  testBlockId,
  testTip,
  toScript,
  undoMirrorsApply,
  windowBound
} from "../../src/testing/index.js"

describe("ReferenceChain", () => {
  it("sends the backward-first of the session, then forwards with the node's tip", () => {
    const model = new ReferenceChain({ k: 3 })
    const events = model.applyOp({ op: "forward", blocks: 2 })
    expect(events.map((e) => e._tag)).toEqual(["RollBackward", "RollForward", "RollForward"])
    expect(events[0]).toEqual({ _tag: "RollBackward", point: "origin", tip: "origin" })
    expect(events[1]).toMatchObject({ block: { height: 0, ancestor: "genesis" }, tip: testTip(model.blocks[1]!) })
    expect(model.blocks[1]!.ancestor).toBe(model.blocks[0]!.id)
  })

  it("bounds rollbacks by the immutable tip (max length seen - k), not by the current tip - k", () => {
    const model = new ReferenceChain({ k: 3 })
    model.applyOp({ op: "forward", blocks: 5 }) // max 5: immutable tip at length 2
    model.applyOp({ op: "rollback", depth: 3 }) // length 2
    model.applyOp({ op: "forward", blocks: 1 }) // length 3, max still 5
    expect(model.maxRollback).toBe(1)
    expect(() => model.applyOp({ op: "rollback", depth: 3 })).toThrow(RangeError) // current tip - k would allow it
    expect(model.applyOp({ op: "rollback", depth: 1 })).toHaveLength(1)
  })

  it("a restart followed by a fork makes the backward-first a genuine rollback; otherwise it points at the tip", () => {
    const model = new ReferenceChain({ k: 5 })
    model.applyOp({ op: "forward", blocks: 4 })
    expect(model.applyOp({ op: "restart" })).toEqual([])
    const merged = model.applyOp({ op: "rollback", depth: 2 })
    expect(merged).toEqual([{ _tag: "RollBackward", point: { slot: model.blocks[1]!.slot, id: model.blocks[1]!.id }, tip: testTip(model.blocks[1]!) }])
    model.applyOp({ op: "restart" })
    const next = model.applyOp({ op: "forward", blocks: 1 })
    expect(next[0]).toMatchObject({ _tag: "RollBackward", point: { id: model.blocks[1]!.id } })
    expect(model.applyOp({ op: "restart" })).toEqual([])
    expect(model.end()).toHaveLength(1)
  })

  it("forks get a new branch: different ids and content at the same height", () => {
    const r = replay({ k: 3, ops: [{ op: "forward", blocks: 3 }, { op: "rollback", depth: 1 }, { op: "forward", blocks: 1 }] })
    const first = testBlock(0, 2, r.chain[1]!.id)
    expect(r.chain[2]!.id).not.toBe(first.id)
    expect(r.chain[2]!["branch"]).not.toBe(first.branch)
    expect(r.chain[2]!.transactions).not.toEqual(first.transactions)
  })

  it("block ids are 64 hex, unique across 50,000 (branch, height) pairs", () => {
    const seen = new Set<string>()
    for (let branch = 0; branch < 200; branch++) for (let height = 0; height < 250; height++) seen.add(testBlockId(branch, height))
    expect(seen.size).toBe(50_000)
    for (const id of [...seen].slice(0, 100)) expect(id).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe("scripts", () => {
  it("toScript gives plain JSON ops that fromScript validates back", () => {
    const history = fc.sample(historyArbitrary({ k: 4, maxLength: 100 }), { numRuns: 1, seed: 11 })[0]!
    const script = toScript(history)
    const parsed = JSON.parse(JSON.stringify(script)) as unknown[]
    expect(fromScript(parsed, { k: 4 })).toEqual(history)
    for (const op of script) expect(Object.keys(op).sort()).toEqual(op.op === "restart" ? ["op"] : ["op", op.op === "forward" ? "blocks" : "depth"].sort())
  })

  it("fromScript rejects a rollback beyond the immutable tip, naming the op", () => {
    expect(() => fromScript([{ op: "forward", blocks: 5 }, { op: "rollback", depth: 3 }], { k: 2 })).toThrow(/op 1/)
    expect(() => fromScript([{ op: "jump" }], { k: 2 })).toThrow(TypeError)
  })
})

describe("historyArbitrary", () => {
  it("covers long histories, edge-depth rollbacks, origin rollbacks, and forks while disconnected", () => {
    const stats = { long: 0, toOrigin: 0, atEdge: 0, fullK: 0, zero: 0, forkWhileAway: 0, restarts: 0 }
    const samples = fc.sample(fc.integer({ min: 3, max: 10 }).chain((k) => historyArbitrary({ k, maxLength: 300 })), { numRuns: 500, seed: 1 })
    for (const history of samples) {
      if (history.ops.length >= 100) stats.long++
      const model = new ReferenceChain({ k: history.k })
      let previous: string | undefined
      for (const op of history.ops) {
        if (op.op === "rollback") {
          if (op.depth === model.maxRollback && op.depth > 0) stats.atEdge++
          if (op.depth > 0 && op.depth === model.length) stats.toOrigin++
          if (op.depth === history.k) stats.fullK++
          if (op.depth === 0) stats.zero++
          if (previous === "restart" && op.depth > 0) stats.forkWhileAway++
        }
        if (op.op === "restart") stats.restarts++
        model.applyOp(op) // every generated op is valid for the model
        previous = op.op
      }
    }
    expect(stats.long).toBeGreaterThan(250)
    for (const [name, count] of Object.entries(stats)) expect(count, name).toBeGreaterThan(20)
  })
})

describe("invariants", () => {
  const [a, b, c] = [testBlock(0, 0, "genesis"), testBlock(0, 1, testBlockId(0, 0)), testBlock(0, 2, testBlockId(0, 1))] as [Block, Block, Block]
  const tip = testTip(c)
  const good: ReorgEvent[] = [Apply(a, tip), Apply(b, tip), Final(a), Apply(c, tip), Undo(c), Undo(b)]

  it("accept a correct sequence", () => {
    expect(foldApplyUndo(good)).toEqual([a])
    finalIsPrefix(good, [a, b])
    undoMirrorsApply(good)
    noDuplicates(good)
    windowBound([1, 2, 3], 2)
  })

  it("reject broken sequences with the invariant's name", () => {
    const violation = (f: () => void) => {
      try {
        f()
      } catch (error) {
        expect(error).toBeInstanceOf(InvariantViolation)
        return (error as InvariantViolation).invariant
      }
      return "passed"
    }
    expect(violation(() => undoMirrorsApply([Apply(a, tip), Apply(b, tip), Undo(a)]))).toBe("undoMirrorsApply")
    expect(violation(() => undoMirrorsApply([Apply(a, tip), Undo({ ...a, branch: 9 })]))).toBe("undoMirrorsApply")
    expect(violation(() => foldApplyUndo([Apply(a, tip), Apply(b, tip), Undo(a)]))).toBe("foldApplyUndo")
    expect(violation(() => finalIsPrefix([Apply(a, tip), Apply(b, tip), Final(b)]))).toBe("finalIsPrefix")
    expect(violation(() => finalIsPrefix([Apply(a, tip), Final(a), Undo(a)]))).toBe("finalIsPrefix")
    expect(violation(() => finalIsPrefix([Apply(a, tip), Final(a)], [b]))).toBe("sameChain")
    expect(violation(() => noDuplicates([Apply(a, tip), Apply(a, tip)]))).toBe("noDuplicates")
    expect(violation(() => noDuplicates([Apply(a, tip), Final(a), Final(a)]))).toBe("noDuplicates")
    expect(violation(() => windowBound([2, 4], 2))).toBe("windowBound")
    const checker = new EventChecker()
    checker.pushAll([Apply(a, tip), Apply(b, tip), Apply(c, tip)])
    expect(violation(() => checker.checkFinalAtDepth(2))).toBe("finalAtDepth")
  })
})

// A naive array-based operator with optional bugs; persists its own format.
type Bug = "undo-one-too-few" | "undo-one-too-many" | "final-one-late" | "window-lost-on-resume"
const naiveOperator =
  (bug?: Bug): ConsumerFactory =>
  ({ depth, resume }) => {
    const saved = resume as { final: string; blocks: Block[] } | undefined
    const window: Block[] = bug === "window-lost-on-resume" ? [] : [...(saved?.blocks ?? [])]
    let final = saved?.final ?? "origin"
    return {
      push: (event) => {
        if (event._tag === "RollForward") {
          window.push(event.block)
          const out: ReorgEvent[] = [Apply(event.block, event.tip)]
          while (window.length > depth + (bug === "final-one-late" ? 1 : 0)) {
            const oldest = window.shift()!
            final = oldest.id
            out.push(Final(oldest))
          }
          return out
        }
        const target = event.point === "origin" ? "origin" : event.point.id
        let keep = target === final ? 0 : window.findIndex((block) => block.id === target) + 1
        if (keep === 0 && target !== final) {
          if (window.length === 0) return [] // unknown point with nothing held: adopt it
          throw new Error(`rollback point ${target} not in window`)
        }
        if (bug === "undo-one-too-few") keep = Math.min(window.length, keep + 1)
        if (bug === "undo-one-too-many") keep = Math.max(0, keep - 1)
        return window.splice(keep).reverse().map((block) => Undo(block))
      },
      persist: () => ({ final, blocks: window }),
      windowSize: () => window.length
    }
  }

describe("checkConsumer", () => {
  it("passes the reorg operator and a correct naive operator", async () => {
    await expect(checkConsumer(reorgConsumer, { depth: 4, numRuns: 200, maxLength: 200 })).resolves.toMatchObject({ numRuns: 200 })
    await expect(checkConsumer(naiveOperator(), { depth: 3, numRuns: 200, maxLength: 200 })).resolves.toMatchObject({ numRuns: 200 })
  })

  it.each<[Bug, RegExp]>([
    ["undo-one-too-few", /foldApplyUndo|noDuplicates|sameChain/],
    ["undo-one-too-many", /foldApplyUndo|sameChain|finalIsPrefix/],
    ["final-one-late", /finalAtDepth|windowBound/],
    ["window-lost-on-resume", /rollback point|undoMirrorsApply|foldApplyUndo|noDuplicates/]
  ])("catches a broken operator (%s) and reports a shrunk counterexample", async (bug, reason) => {
    const failure = await checkConsumer(naiveOperator(bug), { depth: 3, numRuns: 1000, maxLength: 200, seed: 42 }).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(ConsumerCheckFailed)
    const failed = failure as ConsumerCheckFailed
    expect(failed.message).toMatch(reason)
    expect(failed.message).toContain("counterexample (k = 3): [")
    expect(failed.script.length).toBeLessThanOrEqual(6) // shrunk to a handful of ops
    // the counterexample replays: it fails on its own, deterministically
    await expect(runConsumer(naiveOperator(bug), failed.counterexample, { depth: 3 })).rejects.toThrow()
    await expect(runConsumer(naiveOperator(), failed.counterexample, { depth: 3 })).resolves.toBeDefined()
    console.log(`${bug}: ${failed.message.split("\n").join(" | ")}`)
  })

  it("rejects histories whose k exceeds the consumer depth", async () => {
    await expect(runConsumer(reorgConsumer, { k: 5, ops: [] }, { depth: 3 })).rejects.toThrow(RangeError)
  })
})
