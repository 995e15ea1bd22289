/**
 * Issue 9 end to end: a coordinator (the Effect `backfill --distributed` runs) and 3 `hecate worker`
 * child processes against a simulator and the real Redis. One worker is SIGKILLed in the middle of
 * an epoch (after it wrote some of the epoch's entries, before it finished): its job is retaken by
 * another worker once the lock expires (2 s locks, 1 s stall checks), the epoch is reset and redone.
 * The resulting namespace must equal a single-process `hecate backfill`'s (same entries, same
 * bookkeeping, one epoch_complete per epoch in ascending order), ignoring entry ids and timestamps.
 */
import { Exit } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { BackfillProgress, BackfillResult } from "../../src/backfill/backfill.js"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import { e2e, type E2e, expectedEpoch, lastFinalized, output, sleep, SMALL_CHAIN, snapshot } from "../support/backfill-e2e.js"
import { runCoordinator, startWorker, stopWorker, type TestQueue, testQueue, type WorkerProcess } from "./support.js"

let t: E2e
let q: TestQueue
let workers: Array<WorkerProcess> = []
beforeEach(async () => {
  t = await e2e()
  q = await testQueue(t)
})
afterEach(async () => {
  await Promise.all(workers.map(stopWorker))
  workers = []
  await q.cleanup()
  await t.cleanup()
})

/** ~9 finalized epochs of ~100 blocks (2 KB). */
const CHAIN = {
  port: 0,
  network: "custom",
  epochLength: 200,
  activeSlotsCoefficient: 0.5,
  securityParameter: 10,
  meanBlockBytes: 2048,
  initialBlocks: 1000
} as const
const BATCH = 10
const LOCKS = ["--lock-duration", "2000", "--stalled-interval", "1000"]

describe("backfill --distributed with hecate worker processes", () => {
  it("a worker SIGKILLed mid-epoch loses nothing: the streams equal a single-process backfill's, every block once, committed in order", async () => {
    const sim: SimulatorHandle = await t.sim(CHAIN)
    const target = lastFinalized(sim)
    expect(target).toBeGreaterThanOrEqual(7)

    // the reference: one local backfill process on its own prefix
    const refPrefix = `${t.prefix}ref:`
    const ref = await t.backfill(["--endpoint", sim.url, "--redis-prefix", refPrefix, "--batch-size", String(BATCH), "--concurrency", "2"], {
      env: { REDIS_MAX_UNCONSUMED_EPOCHS: "100" },
      timeoutMs: 90_000
    })
    expect(ref.code, output(ref)).toBe(0)
    const reference = await snapshot(t.redis, refPrefix)

    // slow the chain down (each frame 15 ms late; 4 blocks in flight per session ≈ 250 blocks/s per
    // epoch) so that an epoch takes long enough to be caught half-written
    sim.faults.delay(15)
    for (let i = 1; i <= 3; i++) workers.push(startWorker(t, q, `w${i}`, ["--endpoint", sim.url, ...LOCKS]))

    // the killer: the first worker seen with a half-written epoch is SIGKILLed
    let killed: { worker: WorkerProcess; epoch: number; written: number } | undefined
    const killer = (async () => {
      while (killed === undefined) {
        for (const w of workers) {
          const started = [...w.log().matchAll(/epoch (\d+): attempt \d+ from/g)].map((m) => Number(m[1]))
          const current = started.at(-1)
          if (current === undefined || new RegExp(`epoch ${current}: \\d+ blocks written`).test(w.log())) continue
          const written = Number((await t.redis.hget(`${t.prefix}epoch:${current}:meta`, "blocks_total")) ?? 0)
          const expected = sim.chain.epochInfo(current)!.lastHeight - sim.chain.epochInfo(current)!.firstHeight + 1
          if (written >= BATCH && written <= expected - 2 * BATCH) {
            w.child.kill("SIGKILL")
            killed = { worker: w, epoch: current, written }
            return
          }
        }
        await sleep(5)
      }
    })()

    const progress: Array<BackfillProgress> = []
    const exit = await runCoordinator(t, q, sim.url, {
      options: { concurrency: 1, batchSize: BATCH, inFlight: 4, retries: 2, retryDelay: 0, maxUnconsumedEpochs: 100, lockTtlMs: 1500 },
      dist: { maxInFlight: 6, pollInterval: 50 }
    }, progress)
    await killer
    const logs = workers.map((w) => `--- ${w.name}\n${w.log()}`).join("\n")
    expect(Exit.isSuccess(exit), `${String(exit)}\n${logs}`).toBe(true)
    const result = (exit as Exit.Success<BackfillResult>).value
    expect(result.target).toBe(target)

    // the kill happened mid-epoch, and another worker redid that epoch
    expect(killed, logs).toBeDefined()
    const { worker: victim, epoch: victimEpoch } = killed!
    expect((await victim.exited).signal).toBe("SIGKILL")
    const redoers = workers.filter((w) => w !== victim && new RegExp(`epoch ${victimEpoch}: attempt 2 from`).test(w.log()))
    expect(redoers.map((w) => w.name), logs).toHaveLength(1)
    // each epoch was written to the end exactly once (the victim's attempt never finished), and the
    // coordinator saw each epoch synced once
    const written = workers.flatMap((w) => [...w.log().matchAll(/epoch (\d+): \d+ blocks written/g)].map((m) => Number(m[1])))
    expect(written.sort((a, b) => a - b), logs).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
    const synced = progress.flatMap((p) => (p._tag === "EpochSynced" ? [p.epoch] : []))
    expect(synced.sort((a, b) => a - b)).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
    // every worker that survived took part
    for (const w of workers.filter((w) => w !== victim)) expect(w.log(), w.name).toMatch(/blocks written/)

    // same namespace as the single-process run
    const got = await t.snapshot()
    expect(got).toEqual(reference)

    // every block once, in order, and epochs committed in ascending order, each once
    for (let e = 0; e <= target; e++) {
      const content = await t.readEpoch(e)
      expect(content.batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
    }
    expect((await t.readEvents()).map((ev) => Number(ev.epoch))).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
    const committed = progress.flatMap((p) => (p._tag === "Committed" ? [p.lastSyncedEpoch] : []))
    expect(committed.at(-1)).toBe(target)
    expect([...committed].sort((a, b) => a - b)).toEqual(committed)
    expect(new Set(committed).size).toBe(committed.length)

    // the queue is drained (committed jobs removed), and the surviving workers stop on SIGTERM (130)
    const counts = await q.queue.getJobCounts()
    expect(counts["completed"] ?? 0).toBe(0)
    expect(counts["failed"] ?? 0).toBe(0)
    for (const w of workers.filter((w) => w !== victim)) expect((await stopWorker(w)).code, w.log()).toBe(130)
  }, 180_000)

  it("--detach queues the allowance and exits; workers sync but nothing is published until a rerun commits, in order", async () => {
    const sim = await t.sim(SMALL_CHAIN)
    const target = lastFinalized(sim)
    const run = (detach: boolean) =>
      runCoordinator(t, q, sim.url, {
        options: { concurrency: 1, batchSize: 7, inFlight: 20, retries: 1, retryDelay: 0, maxUnconsumedEpochs: 100, lockTtlMs: 1500 },
        dist: { maxInFlight: 3, pollInterval: 50, detach }
      })

    const first = await run(true)
    expect(Exit.isSuccess(first), String(first)).toBe(true)
    expect((first as Exit.Success<BackfillResult>).value.target).toBeUndefined()
    expect(await q.queue.getJobCounts("waiting")).toEqual({ waiting: 3 })
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("-1")
    expect(await t.redis.get(`${t.prefix}producer_lock`)).toBeNull()

    // a worker syncs the 3 queued epochs; the coordinator is gone, so nothing is committed yet
    workers.push(startWorker(t, q, "w1", ["--endpoint", sim.url, ...LOCKS]))
    for (let i = 0; i < 600 && (await q.queue.getJobCounts("completed"))["completed"] !== 3; i++) await sleep(50)
    expect(await q.queue.getJobCounts("completed"), workers[0]!.log()).toEqual({ completed: 3 })
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("-1")
    expect(await t.readEvents()).toEqual([])

    // the rerun adopts the completed jobs (no second sync), commits them and queues the rest
    const second = await run(false)
    expect(Exit.isSuccess(second), `${String(second)}\n${workers[0]!.log()}`).toBe(true)
    expect((second as Exit.Success<BackfillResult>).value.target).toBe(target)
    for (let e = 0; e <= target; e++) {
      expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
    }
    expect((await t.readEvents()).map((ev) => Number(ev.epoch))).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
    const written = [...workers[0]!.log().matchAll(/epoch (\d+): \d+ blocks written/g)].map((m) => Number(m[1]))
    expect(written.sort((a, b) => a - b)).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
  }, 120_000)
})
