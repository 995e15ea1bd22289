/**
 * The library's backfill with no Redis: `backfill()` over the redis sink whose coordinator is the
 * in-memory EpochStore, fed by the in-process simulator. The committed epochs are the simulator's
 * canonical chain, one event each, in order; with a consumer reading the streams as the contract
 * says (register at 0 once published, small COUNT, XACK each) and backpressure tight enough that
 * the run must wait for it, the cleanup reclaims what the consumer finished and the run completes;
 * reruns narrow, refuse an unreachable start (nothing written) or rebase; and another producer
 * taking the prefix over stops the run (exit 15) with nothing written after.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Fiber, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { backfill, type BackfillOptions, type BackfillProgress } from "../../src/backfill/backfill.js"
import { EpochIndex } from "../../src/backfill/epoch-index.js"
import { detectNetwork } from "../../src/backfill/network.js"
import { makeRedisSink } from "../../src/sinks/redis.js"
// as a user has it: from hecate/testing
import { type MemoryEpochStore, makeMemoryEpochStore } from "../../src/testing/index.js"
import type { MemoryEntry } from "../../src/backfill/store/MemoryEpochStore.js"
import { parse, stringify } from "../../src/json/lossless.js"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import { startSimulator } from "../../src/simulator/index.js"
import { expectedEpoch, lastFinalized, SMALL_CHAIN } from "../support/backfill-e2e.js"

let sim: SimulatorHandle
let dir: string
beforeAll(async () => {
  sim = await startSimulator(SMALL_CHAIN)
  dir = mkdtempSync(join(tmpdir(), "hecate-backfill-memory-"))
})
afterAll(async () => {
  await sim?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const ogmiosLayer = (endpoints: ReadonlyArray<string>) => OgmiosLive.layer({ endpoints, requestTimeout: 30_000, reconnect: { maxAttempts: 3, maxDelay: 500 } })

/** `backfill()` over the memory store: the Ogmios and epoch-index layers only, no Redis service. */
const run = (store: MemoryEpochStore, options: Partial<BackfillOptions> & { readonly cache: string; readonly partBytes?: number }, progress: Array<BackfillProgress> = []) => {
  const query = ogmiosLayer([sim.url])
  const index = Layer.unwrap(Effect.map(detectNetwork, (network) => EpochIndex.layer({ network, cachePath: join(dir, options.cache) }))).pipe(Layer.provide(query))
  return backfill(makeRedisSink(store, options.partBytes === undefined ? {} : { partBytes: options.partBytes }), {
    concurrency: 3,
    batchSize: 7,
    endpoints: [sim.url],
    ogmiosLayer,
    retries: 1,
    retryDelay: 0,
    onProgress: (e) => void progress.push(e),
    ...options
  }).pipe(Effect.provide(Layer.mergeAll(index, query)))
}

const blocksOf = (entries: ReadonlyArray<MemoryEntry>) =>
  entries.flatMap(([, f]) => (parse(f[f.indexOf("data") + 1]!) as Array<unknown>).map((b) => stringify(b)))

describe("backfill() over the in-memory EpochStore (no Redis)", () => {
  it("commits every finalized epoch as the simulator's canonical chain, one epoch_complete each, in order", async () => {
    const store = makeMemoryEpochStore({ prefix: "memory:" })
    const target = lastFinalized(sim)
    const result = await Effect.runPromise(run(store, { cache: "a.json", maxUnconsumedEpochs: 1000 }))
    expect(result).toMatchObject({ target, epochs: target + 1 })
    const state = store.state()
    for (let e = 0; e <= target; e++) {
      expect(blocksOf(state.streams[String(e)]!.entries), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
      expect(state.meta[String(e)]!["blocks_total"]).toBe(String(expectedEpoch(sim, e).length))
    }
    expect(state.events.map(([, f]) => f)).toEqual(
      Array.from({ length: target + 1 }, (_, e) => ["type", "epoch_complete", "epoch", String(e), "last_height", String(sim.chain.epochInfo(e)!.lastHeight)])
    )
    expect(await Effect.runPromise(store.status())).toMatchObject({
      last_synced_epoch: target,
      low_watermark: 0,
      epochs_individually_completed_pending_sync: 0,
      epochs_with_active_resume_points: 0
    })
    expect(state.metrics).toMatchObject({ epochs_total: String(target + 1), blocks_total: String(sim.chain.epochInfo(target)!.lastHeight + 1) })
    expect(state.producerLock).toBeNull() // released at the end

    // a rerun resumes after last_synced_epoch and finds nothing to do
    const again = await Effect.runPromise(run(store, { cache: "a.json", maxUnconsumedEpochs: 1000 }))
    expect(again).toEqual({ target: undefined, epochs: 0, blocks: 0 })
  }, 60_000)

  it("batches staged in parts of a few blocks write the same entries as whole batches, count each block once, and leave nothing staged", async () => {
    const target = lastFinalized(sim)
    const entriesOf = async (partBytes: number) => {
      const store = makeMemoryEpochStore({ prefix: "memory:" })
      const progress: Array<BackfillProgress> = []
      await Effect.runPromise(run(store, { cache: "p.json", maxUnconsumedEpochs: 1000, batchSize: 23, partBytes }, progress))
      const state = store.state()
      const batched = progress.reduce((n, e) => n + (e._tag === "EpochBatch" ? e.blocks : 0), 0)
      return {
        data: Array.from({ length: target + 1 }, (_, e) => state.streams[String(e)]!.entries.map(([, f]) => f)),
        meta: Object.values(state.meta).map((m) => [m["bytes_total"], m["blocks_total"]]),
        staging: state.staging,
        batched
      }
    }
    const whole = await entriesOf(Infinity)
    // the simulator's blocks are 2 KiB: parts of 3 000 bytes are one or two blocks, so every batch is staged
    const parted = await entriesOf(3_000)
    expect(parted).toEqual(whole)
    expect(parted.staging).toBeUndefined()
    expect(parted.batched).toBe(sim.chain.epochInfo(target)!.lastHeight + 1)
    for (let e = 0; e <= target; e++) expect(parted.data[e]!.length).toBe(Math.ceil(expectedEpoch(sim, e).length / 23))
  }, 60_000)

  it("the ordering base across runs: a rerun narrows, an unreachable start is refused with nothing written, a rebase purges and moves on", async () => {
    const store = makeMemoryEpochStore({ prefix: "memory:" })
    const target = lastFinalized(sim)
    const opts = { cache: "d.json", maxUnconsumedEpochs: 1000 }
    expect(await Effect.runPromise(run(store, { ...opts, endEpoch: 1 }))).toMatchObject({ target: 1, epochs: 2 })

    const before = JSON.stringify(store.state())
    const refused = await Effect.runPromise(Effect.flip(run(store, { ...opts, startEpoch: 4 })))
    expect(refused).toMatchObject({ _tag: "UnreachableWindow", base: 1, startEpoch: 4, exitCode: 11 })
    expect(JSON.stringify(store.state())).toBe(before) // nothing written (the lock taken and released)

    // asked from 0 again: narrowed to start after last_synced_epoch
    expect(await Effect.runPromise(run(store, { ...opts, startEpoch: 0, endEpoch: 2 }))).toMatchObject({ target: 2, epochs: 1 })

    // epoch 3 written off: the unread streams below the window are purged, then 4.. are relayed
    const rebased = await Effect.runPromise(run(store, { ...opts, startEpoch: 4, rebaseOrderingBase: true, purgeOrphans: true }))
    expect(rebased).toMatchObject({ target, epochs: target - 3 })
    const state = store.state()
    expect(Object.keys(state.streams).map(Number)).toEqual(Array.from({ length: target - 3 }, (_, i) => 4 + i))
    expect(state.lowWatermark).toBe("4")
    expect(state.events.map(([, f]) => Number(f[3]))).toEqual([0, 1, 2, ...Array.from({ length: target - 3 }, (_, i) => 4 + i)])
    for (let e = 4; e <= target; e++) expect(blocksOf(state.streams[String(e)]!.entries), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
  }, 60_000)

  it("with a consumer and tight backpressure: the run waits for it, the cleanup reclaims what it finished, and it gets the whole chain", async () => {
    const store = makeMemoryEpochStore({ prefix: "memory:" })
    const target = lastFinalized(sim)
    const progress: Array<BackfillProgress> = []
    const consumed: Array<string> = []
    // a consumer following docs/redis-contract.md, on its own client of the namespace
    const reader = store.connect()
    const consumer = Effect.gen(function*() {
      // it starts late: the run fills the allowed lag and pauses before anything is consumed
      while (reader.state().metrics["backpressure_paused"] !== "1") yield* Effect.sleep(Duration.millis(10))
      for (let e = 0; e <= target; e++) {
        while (((yield* reader.getLastSyncedEpoch()) ?? -1) < e) yield* Effect.sleep(Duration.millis(10))
        yield* reader.createGroup(e, "indexer", "0")
        for (;;) {
          const entries = yield* reader.readGroup(e, "indexer", "worker-1", { count: 2 })
          if (entries.length === 0) break
          consumed.push(...blocksOf(entries))
          yield* reader.ack(e, "indexer", ...entries.map(([id]) => id))
        }
      }
    })
    const exit = await Effect.runPromise(Effect.gen(function*() {
      const reading = yield* Effect.forkChild(consumer)
      const result = yield* Effect.exit(
        run(store, { cache: "b.json", concurrency: 2, maxUnconsumedEpochs: 2, backpressurePoll: "20 millis", cleanupInterval: "50 millis" }, progress)
      )
      yield* Fiber.join(reading).pipe(Effect.timeout(Duration.seconds(10)))
      return result
    }))
    expect(Exit.isSuccess(exit), String(exit)).toBe(true)
    const expected = Array.from({ length: target + 1 }, (_, e) => expectedEpoch(sim, e)).flat()
    expect(consumed).toEqual(expected)
    // the run had to wait for the consumer (the pause flagged and cleared), and what the consumer finished was reclaimed
    const state = store.state()
    expect(progress.some((p) => p._tag === "BackpressurePaused")).toBe(true)
    expect(state.metrics).toMatchObject({ backpressure_paused: "0", backpressure_paused_since: "" })
    expect(Number(state.metrics["streams_purged_total"])).toBeGreaterThan(0)
    expect(Object.keys(state.streams).map(Number).every((e) => e >= Number(state.lowWatermark))).toBe(true)
    expect(state.lastSyncedEpoch).toBe(String(target))
  }, 60_000)

  it("another producer taking the prefix over stops the run with ProducerLockLost, and nothing is written after", async () => {
    const store = makeMemoryEpochStore({ prefix: "memory:" })
    // once the first epoch is committed, another producer takes the lock
    const progress: Array<BackfillProgress> = []
    const onProgress = (p: BackfillProgress) => {
      progress.push(p)
      if (p._tag === "Committed" && p.lastSyncedEpoch === 0) Effect.runSync(store.setProducerLock("intruder", 60_000))
    }
    const exit = await Effect.runPromise(
      Effect.exit(run(store, { cache: "c.json", concurrency: 1, lockTtlMs: 300, maxUnconsumedEpochs: 1000, onProgress })).pipe(Effect.timeout(Duration.seconds(20)))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain("ProducerLockLost")
    expect(String(exit)).toContain("now held by intruder")
    const frozen = JSON.stringify(store.state())
    await new Promise((r) => setTimeout(r, 300))
    expect(JSON.stringify(store.state())).toBe(frozen) // nothing runs on behind the intruder's back
    expect(store.state().producerLock?.holder).toBe("intruder")
    expect(store.state().lastSyncedEpoch).toBe("0") // every write after the takeover was refused
    expect(progress.filter((p) => p._tag === "Committed")).toEqual([{ _tag: "Committed", lastSyncedEpoch: 0 }])
  }, 60_000)
})
