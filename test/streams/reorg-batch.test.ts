/**
 * `stepBatch` / `reorgBatches`: every event of a batch comes with its block's point as the operator
 * holds it, so a sink needs no window of its own, and an EBB (no slot on the block) gets the slot
 * of its place in the chain, also when the block before it was applied in an earlier batch or a
 * previous run (resume window).
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type Block, blockPoint } from "../../src/domain/block.js"
import { RollBackward, RollForward } from "../../src/domain/chain-event.js"
import { initialState, type ReorgState, stepBatch } from "../../src/streams/reorg.js"

const block = (height: number, ancestor: string, slot?: number, type = "praos"): Block => ({
  type,
  era: "byron",
  id: `b${height}${type}`,
  ancestor,
  height,
  ...(slot === undefined ? {} : { slot })
})

describe("stepBatch", () => {
  it("carries the point of every apply, final and undo, an EBB's slot from the block before it", () => {
    const epoch = 100
    const a = block(1, "genesis", 10)
    const b = block(1, a.id, undefined, "ebb") // the epoch boundary after slot 10: slot 100
    const c = block(2, b.id, 105)
    const tip = { slot: 105, id: c.id, height: 2 }
    let state: ReorgState = initialState({ depth: 1, byronEpochLength: epoch })
    const seen: Array<{ tag: string; slot: number; id: string }> = []
    const push = (event: Parameters<typeof stepBatch>[1]) => {
      const r = stepBatch(state, event)
      if (Result.isFailure(r)) throw r.failure
      state = r.success.state
      expect(r.success.batch.points.length).toBe(r.success.batch.events.length)
      r.success.batch.events.forEach((e, i) => {
        expect(r.success.batch.points[i]!.id).toBe(e.block.id)
        seen.push({ tag: e._tag, slot: r.success.batch.points[i]!.slot, id: e.block.id })
      })
      return r.success.batch
    }
    push(RollForward(a, tip))
    push(RollForward(b, tip))
    push(RollForward(c, tip))
    push(RollBackward({ slot: 100, id: b.id }, tip))
    expect(seen).toEqual([
      { tag: "Apply", slot: 10, id: a.id },
      { tag: "Apply", slot: 100, id: b.id },
      { tag: "Final", slot: 10, id: a.id },
      { tag: "Apply", slot: 105, id: c.id },
      { tag: "Final", slot: 100, id: b.id },
      // depth 1: c is the window; a rollback to b (final) undoes it
      { tag: "Undo", slot: 105, id: c.id }
    ])
  })

  it("an EBB right after a resumed window takes its slot from the window's newest block", () => {
    const a = block(1, "genesis", 250)
    const ebb = block(1, a.id, undefined, "ebb")
    const state = initialState({ depth: 3, byronEpochLength: 100, resume: { final: { point: "origin", height: null }, blocks: [a] } })
    const r = stepBatch(state, RollForward(ebb, { slot: 300, id: ebb.id, height: 1 }))
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.batch.points).toEqual([blockPoint(ebb, 250, 100)])
    expect(r.success.batch.points[0]!.slot).toBe(300)
  })

  it("a rollback below a provisional start point says where the start moved, with the undone blocks' points", () => {
    let state: ReorgState = initialState({ depth: 5 })
    const start = { slot: 50, id: "start" }
    const x = block(3, "start", 60)
    const tip = { slot: 60, id: x.id, height: 3 }
    for (const event of [RollBackward(start, tip), RollForward(x, tip)]) {
      const r = stepBatch(state, event)
      if (Result.isFailure(r)) throw r.failure
      state = r.success.state
    }
    const r = stepBatch(state, RollBackward({ slot: 40, id: "older" }, tip))
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.batch.restart).toEqual({ slot: 40, id: "older" })
    expect(r.success.batch.points).toEqual([{ slot: 60, id: x.id }])
  })
})
