// Properties of the reorg operator over generated chain histories (hecate/testing).
// Runs: env HECATE_PROPERTY_RUNS (default 1000; `npm run soak` sets 100000).
import fc from "fast-check"
import { isDeepStrictEqual } from "node:util"
import { describe, expect, it } from "vitest"
import { RollbackTooDeep } from "../../src/domain/reorg-event.js"
import { historyArbitrary } from "../../src/testing/history.js"
import {
  EventChecker,
  finalIsPrefix,
  foldApplyUndo,
  noDuplicates,
  sameChain,
  undoMirrorsApply,
  windowBound
} from "../../src/testing/invariants.js"
import { replay } from "../../src/testing/reference-chain.js"
import { propertyRuns } from "../../src/testing/check.js"
import { runSteps } from "../testing/reorg-harness.js"

const numRuns = propertyRuns(1000)
// ~5-20 ms per history on a loaded 2-core box; scale the timeout with the run count (the soak runs 100x more)
const timeout = Math.max(120_000, numRuns * 60)

// small k so rollbacks keep hitting the window edges; up to 300 ops (a few thousand blocks)
const scenario = fc
  .integer({ min: 1, max: 10 })
  .chain((k) => historyArbitrary({ k, maxLength: 300 }))
  .map((history) => ({ history, replay: replay(history) }))

/** The operator at depth = k, restarting (snapshot -> JSON -> resume) at every session start. */
const runModel = (s: { history: { k: number }; replay: ReturnType<typeof replay> }, restartAt?: ReadonlySet<number>) =>
  runSteps(s.replay.events, { depth: s.history.k }, restartAt ?? new Set(s.replay.restarts))

describe(`reorg operator properties (${numRuns} runs each)`, () => {
  it("1. folding apply/undo over an empty list gives exactly the canonical chain", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const run = runModel(s)
        expect(run.error).toBeUndefined()
        sameChain(foldApplyUndo(run.flat), s.replay.chain)
        // and after every single event the operator's output is consistent (incremental checker)
        const checker = new EventChecker()
        for (const batch of run.batches) {
          checker.pushAll(batch)
          checker.checkFinalAtDepth(s.history.k)
        }
      }),
      { numRuns }
    )
  }, timeout)

  it("2. final events form a prefix of the canonical chain, are never undone, never repeat, and come at depth", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const run = runModel(s)
        finalIsPrefix(run.flat, s.replay.chain)
        noDuplicates(run.flat)
        const finals = run.flat.filter((e) => e._tag === "Final")
        expect(finals.length).toBe(Math.max(0, s.replay.maxLength - s.history.k))
        const finalIds = new Set(finals.map((e) => e.block.id))
        expect(run.flat.some((e) => e._tag === "Undo" && finalIds.has(e.block.id))).toBe(false)
      }),
      { numRuns }
    )
  }, timeout)

  it("3. each undo is the exact mirror (same content) of an earlier apply, newest first", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const run = runModel(s)
        undoMirrorsApply(run.flat)
        // within a batch, undos are strictly newest first and precede any apply
        for (const [i, batch] of run.batches.entries()) {
          const undos = batch.filter((e) => e._tag === "Undo")
          if (undos.length === 0) continue
          if (undos.length !== batch.length) throw new Error(`batch ${i} mixes undos with other events`)
          for (let j = 1; j < undos.length; j++) {
            if (undos[j]!.block.height !== undos[j - 1]!.block.height - 1) throw new Error(`batch ${i}: undos not newest first`)
          }
        }
      }),
      { numRuns }
    )
  }, timeout)

  it("4. restarting anywhere from the persisted window gives the same output as an uninterrupted run", () => {
    fc.assert(
      fc.property(scenario, fc.array(fc.nat(), { maxLength: 20 }), (s, extra) => {
        const n = s.replay.events.length
        const restartAt = new Set([...s.replay.restarts, ...(n === 0 ? [] : extra.map((i) => i % n))])
        const uninterrupted = runSteps(s.replay.events, { depth: s.history.k })
        const restarted = runModel(s, restartAt)
        expect(restarted.error).toBeUndefined()
        // node's isDeepStrictEqual is ~10x faster than toEqual on these; toEqual only explains a failure
        if (!isDeepStrictEqual(restarted.batches, uninterrupted.batches)) expect(restarted.batches).toEqual(uninterrupted.batches)
        if (!isDeepStrictEqual(restarted.window, uninterrupted.window)) expect(restarted.window).toEqual(uninterrupted.window)
      }),
      { numRuns }
    )
  }, timeout)

  it("5. the window never holds more than depth + 1 blocks (in fact at most depth)", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const run = runModel(s)
        windowBound(run.windowSizes, s.history.k)
        expect(Math.max(0, ...run.windowSizes)).toBeLessThanOrEqual(s.history.k)
        expect(run.window.blocks.length).toBeLessThanOrEqual(s.history.k)
      }),
      { numRuns }
    )
  }, timeout)

  it("6. with depth < k it never goes wrong silently: output stays consistent until a RollbackTooDeep", () => {
    const shallow = fc
      .integer({ min: 2, max: 10 })
      .chain((k) => fc.tuple(historyArbitrary({ k, maxLength: 300 }), fc.integer({ min: 0, max: k - 1 })))
    let failures = 0
    fc.assert(
      fc.property(shallow, ([history, depth]) => {
        const r = replay(history)
        const run = runSteps(r.events, { depth }, new Set(r.restarts))
        const checker = new EventChecker()
        checker.pushAll(run.flat) // consistent up to the failure
        if (run.error !== undefined) {
          failures++
          expect(run.error).toBeInstanceOf(RollbackTooDeep)
          expect(r.events[run.errorAt!]!._tag).toBe("RollBackward")
        } else {
          sameChain(checker.chain, r.chain)
        }
      }),
      { numRuns }
    )
    expect(failures).toBeGreaterThan(0) // the generator does produce rollbacks deeper than depth
  }, timeout)
})
