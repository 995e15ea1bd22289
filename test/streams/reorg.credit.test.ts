// The 1:1 reorg operator under a credit-based source (Reactive-Streams style request(n), like
// chainSync$ over Ogmios pipelining): the consumer acknowledges each input only after its output
// batch has been "written" asynchronously, and only then grants one more credit.
import fc from "fast-check"
import { bufferCount, concatMap, defer, from, lastValueFrom, Observable, type Subscriber, tap, toArray } from "rxjs"
import { describe, expect, it } from "vitest"
import type { ChainSyncEvent } from "../../src/domain/chain-event.js"
import type { ReorgEvent } from "../../src/domain/reorg-event.js"
import { reorg } from "../../src/streams/reorg.js"
import { historyArbitrary } from "../../src/testing/history.js"
import { foldApplyUndo, sameChain } from "../../src/testing/invariants.js"
import { replay } from "../../src/testing/reference-chain.js"

/** A fake socket source: emits (asynchronously) only while it holds credit; starts with `inFlight`. */
const creditSource = <A>(items: ReadonlyArray<A>, inFlight: number) => {
  const stats = { sent: 0, acked: 0, maxOutstanding: 0 }
  let credit = 0
  let subscriber: Subscriber<A> | undefined
  let scheduled = false
  const pump = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      while (subscriber !== undefined && credit > 0 && stats.sent < items.length) {
        credit--
        const item = items[stats.sent++]!
        stats.maxOutstanding = Math.max(stats.maxOutstanding, stats.sent - stats.acked)
        subscriber.next(item)
      }
      if (subscriber !== undefined && stats.sent === items.length) subscriber.complete()
    })
  }
  const source$ = new Observable<A>((s) => {
    subscriber = s
    credit = inFlight
    pump()
    return () => {
      subscriber = undefined
    }
  })
  const request = (n = 1) => {
    stats.acked += n
    credit += n
    pump()
  }
  return { source$, request, stats }
}

/** An async sink: each batch is "written" on a later macrotask. */
const write = (batch: ReadonlyArray<ReorgEvent>, log: Array<ReorgEvent>) =>
  new Promise<void>((resolve) =>
    setImmediate(() => {
      log.push(...batch)
      resolve()
    })
  )

const histories = fc.sample(
  fc.integer({ min: 2, max: 6 }).chain((k) => historyArbitrary({ k, maxLength: 120, minLength: 40 })),
  { numRuns: 24, seed: 4 }
)

describe("reorg under a credit-based source", () => {
  it.each([2, 3])("does not deadlock with inFlight %i: every input acknowledged once its batch is written", async (inFlight) => {
    let inputs = 0
    let emptyBatches = 0
    for (const history of histories) {
      const r = replay(history)
      const { source$, request, stats } = creditSource<ChainSyncEvent>(r.events, inFlight)
      const written: Array<ReorgEvent> = []
      const acks = await lastValueFrom(
        source$.pipe(
          reorg({ depth: history.k }),
          concatMap((batch) =>
            defer(() => from(write(batch, written))).pipe(
              tap({
                complete: () => {
                  if (batch.length === 0) emptyBatches++
                  request(1) // credit per *input*, after its whole batch is written
                }
              })
            )
          ),
          toArray()
        )
      )
      expect(acks).toHaveLength(r.events.length)
      expect(stats.acked).toBe(r.events.length)
      expect(stats.maxOutstanding).toBe(inFlight) // the window is used fully, never exceeded
      sameChain(foldApplyUndo(written), r.chain)
      inputs += r.events.length
    }
    expect(inputs).toBeGreaterThan(1000)
    expect(emptyBatches).toBeGreaterThan(0) // backward-firsts produce empty batches, which still get acked
  }, 60_000)

  it("control: a consumer that waits for more batches than the window before acking stalls (the test can fail)", async () => {
    const history = histories[0]!
    const events = replay(history).events
    const inFlight = 3
    const { source$, request, stats } = creditSource<ChainSyncEvent>(events, inFlight)
    let completed = false
    const sub = source$
      .pipe(
        reorg({ depth: history.k }),
        bufferCount(inFlight + 1),
        concatMap((batches) => from(write(batches.flat(), [])).pipe(tap({ complete: () => request(batches.length) })))
      )
      .subscribe({ complete: () => (completed = true) })
    await new Promise((resolve) => setTimeout(resolve, 200))
    sub.unsubscribe()
    expect(completed).toBe(false)
    expect(stats.sent).toBe(inFlight)
    expect(stats.acked).toBe(0)
  })
})
