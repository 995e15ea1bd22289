/**
 * `hecate backfill --distributed` as a user runs it: the CLI coordinator queues the epochs, one
 * `hecate worker` process syncs them, and the coordinator commits them in order — the same
 * namespace content as a plain local backfill.
 */
import { afterEach, beforeEach, expect, it } from "vitest"
import { e2e, type E2e, lastFinalized, output, snapshot } from "../support/backfill-e2e.js"
import { startWorker, stopWorker, type TestQueue, testQueue, type WorkerProcess } from "./support.js"

let t: E2e
let q: TestQueue
let worker: WorkerProcess | undefined
beforeEach(async () => {
  t = await e2e()
  q = await testQueue(t)
})
afterEach(async () => {
  if (worker !== undefined) await stopWorker(worker)
  await q.cleanup()
  await t.cleanup()
})

it("backfill --distributed with one worker commits every epoch in order, like a local backfill", async () => {
  const sim = await t.sim({ port: 0, network: "custom", epochLength: 200, activeSlotsCoefficient: 0.5, securityParameter: 10, meanBlockBytes: 1024, initialBlocks: 700 })
  const target = lastFinalized(sim)
  const env = { REDIS_MAX_UNCONSUMED_EPOCHS: "100" }

  const local = await t.backfill(["--endpoint", sim.url, "--redis-prefix", `${t.prefix}local:`, "--batch-size", "25"], { env, timeoutMs: 90_000 })
  expect(local.code, output(local)).toBe(0)

  worker = startWorker(t, q, "w1", ["--endpoint", sim.url, "--lock-duration", "2000", "--stalled-interval", "1000"])
  const distributed = await t.backfill(
    ["--distributed", "--queue", q.name, "--endpoint", sim.url, "--redis-prefix", `${t.prefix}dist:`, "--batch-size", "25"],
    { env: { ...env, HECATE_QUEUE_PREFIX: q.prefix }, timeoutMs: 120_000 }
  )
  expect(distributed.code, output(distributed)).toBe(0)

  // the worker, not the coordinator, synced every epoch (a silently ignored --distributed would not)
  const synced = new Set([...worker.log().matchAll(/epoch (\d+): attempt \d+ from/g)].map((m) => Number(m[1])))
  expect([...synced].sort((x, y) => x - y)).toEqual(Array.from({ length: target + 1 }, (_, i) => i))

  const a = await snapshot(t.redis, `${t.prefix}local:`)
  const b = await snapshot(t.redis, `${t.prefix}dist:`)
  expect(b.lastSyncedEpoch).toBe(String(target))
  expect(b.epochs).toEqual(a.epochs)
  expect(b.events).toEqual(a.events)
})
