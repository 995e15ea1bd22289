// Marble tests (RxJS TestScheduler): ordering, 1:1 batching, completion and error propagation.
import { map } from "rxjs"
import { TestScheduler } from "rxjs/testing"
import { describe, expect, it } from "vitest"
import type { ChainSyncEvent } from "../../src/domain/chain-event.js"
import { Apply, Final, type ReorgEvent, RollbackTooDeep, Undo } from "../../src/domain/reorg-event.js"
import { reorg, reorgEvents } from "../../src/streams/reorg.js"
import { testTip } from "../../src/testing/blocks.js"
import { back, chainOf, fwd } from "../testing/reorg-harness.js"

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

const [b0, b1, b2, b3] = chainOf(0, 4) as [ReturnType<typeof chainOf>[number], ReturnType<typeof chainOf>[number], ReturnType<typeof chainOf>[number], ReturnType<typeof chainOf>[number]]
const [c2] = chainOf(1, 1, b1)
const ev: Record<string, ChainSyncEvent> = {
  o: back("origin"),
  a: fwd(b0),
  b: fwd(b1),
  c: fwd(b2),
  d: fwd(b3),
  r: back(b1),
  x: fwd(c2!),
  z: back("origin")
}
const A = (block: typeof b0): ReorgEvent => Apply(block, testTip(block))

describe("reorg operator (marbles)", () => {
  it("emits exactly one batch per input, at the input's frame, undos before the new branch", () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold("o-a-b-c-r-x-|", ev)
      const expected = "  n-A-B-C-R-X-|"
      expectObservable(source.pipe(reorg({ depth: 2 }))).toBe(expected, {
        n: [],
        A: [A(b0)],
        B: [A(b1)],
        C: [A(b2), Final(b0)],
        R: [Undo(b2)],
        X: [A(c2!)]
      })
      expectSubscriptions(source.subscriptions).toBe("^-----------!")
    })
  })

  it("reorgEvents flattens the batches in order, within the same frame", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold("a-b-c----d----r----|", ev)
      expectObservable(source.pipe(reorgEvents({ depth: 2 }))).toBe("A-B-(CF)-(DG)-(UV)-|", {
        A: A(b0),
        B: A(b1),
        C: A(b2),
        F: Final(b0),
        D: A(b3),
        G: Final(b1),
        U: Undo(b3),
        V: Undo(b2)
      })
    })
  })

  it("a rollback too deep errors the output with the typed error and unsubscribes the source", () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold("a-b-c-z-d-|", ev)
      const error = new RollbackTooDeep({ point: "origin", depth: 3, windowDepth: 1, finalPoint: { slot: b1.slot!, id: b1.id } })
      expectObservable(source.pipe(reorg({ depth: 1 }), map((batch) => batch.length))).toBe("1-2-2-#", { 1: 1, 2: 2 }, error)
      expectSubscriptions(source.subscriptions).toBe("^-----!")
    })
  })

  it("passes upstream errors and completion through untouched", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const upstream = new Error("socket closed")
      expectObservable(cold("a-#", ev, upstream).pipe(reorg({ depth: 2 }))).toBe("A-#", { A: [A(b0)] }, upstream)
      expectObservable(cold("---|", ev).pipe(reorg({ depth: 2 }))).toBe("---|")
    })
  })

  it("gives each subscription its own state (re-subscribing starts fresh)", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const shared = cold("a-b-|", ev).pipe(reorg({ depth: 1 }))
      const values = { A: [A(b0)], B: [A(b1), Final(b0)] }
      expectObservable(shared).toBe("A-B-|", values)
      expectObservable(shared).toBe("A-B-|", values)
    })
  })

  it("an invalid resume window errors at subscription", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const resume = { final: { point: "origin" as const, height: null }, blocks: [b0, b1, b2] }
      expectObservable(cold("a|", ev).pipe(reorg({ depth: 1, resume }), map(() => 0))).toBe(
        "#",
        undefined,
        expect.objectContaining({ _tag: "InvalidResumeWindow" })
      )
    })
  })
})
