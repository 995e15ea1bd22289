/**
 * `clusterSchedule` on the real Redis: two instances (each its own BullMQ connections and worker,
 * as two `serve` processes would have) define the same job scheduler; every tick runs once in all,
 * not once per instance. A control with two different scheduler ids shows the count doubling, so
 * the test can tell "once per tick" from "once per instance".
 */
import { randomBytes } from "node:crypto"
import { Queue } from "bullmq"
import { Effect, Exit, Scope } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { clusterSchedule, type ClusterScheduleOptions, removeClusterSchedule, type ScheduledTick } from "../../src/distributed/index.js"
import { deleteByPrefix, REDIS_URL, sleep } from "../support/backfill-e2e.js"
import { Redis as IORedis } from "ioredis"

const EVERY = 250
const RUN_MS = 2_600
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

const prefixFor = () => `hecate-test-sched-${randomBytes(5).toString("hex")}`

/** Starts `clusterSchedule` as instance `instance`; returns a stop function. */
const startInstance = async (options: ClusterScheduleOptions, ticks: Array<ScheduledTick>) => {
  const scope = Effect.runSync(Scope.make())
  await Effect.runPromise(
    clusterSchedule(options, (tick) => Effect.sync(() => void ticks.push(tick))).pipe(Scope.provide(scope))
  )
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}

const cleanupQueue = (prefix: string, name: string) => async () => {
  const q = new Queue(name, { connection: { url: REDIS_URL }, prefix })
  await q.obliterate({ force: true }).catch(() => undefined)
  await q.close()
  const redis = new IORedis(REDIS_URL)
  await deleteByPrefix(redis, `${prefix}:`)
  redis.disconnect()
}

describe("clusterSchedule", () => {
  it("two instances of one schedule fire once per tick in all", async () => {
    const prefix = prefixFor()
    const base = { id: "refresh-test", every: EVERY, connection: { url: REDIS_URL }, prefix, lockDuration: 2_000, stalledInterval: 1_000 }
    cleanups.push(cleanupQueue(prefix, "hecate-schedule-refresh-test"))
    const ticks: Array<ScheduledTick> = []
    const stopA = await startInstance({ ...base, instance: "A" }, ticks)
    const stopB = await startInstance({ ...base, instance: "B" }, ticks)
    await sleep(RUN_MS)
    await stopA()
    await stopB()

    const at = ticks.map((t) => t.at)
    expect(new Set(at).size, JSON.stringify(ticks)).toBe(at.length) // no tick ran twice
    // at most one run per interval (two instances firing per tick would be ~2×; see the control);
    // a loaded machine may let BullMQ skip a late tick, never run one twice
    const expected = RUN_MS / EVERY
    expect(ticks.length).toBeGreaterThanOrEqual(Math.floor(expected / 2))
    expect(ticks.length).toBeLessThanOrEqual(Math.ceil(expected) + 1)
    // ticks fall on the `every` grid
    const sorted = [...at].sort((a, b) => a - b)
    for (let i = 1; i < sorted.length; i++) expect((sorted[i]! - sorted[i - 1]!) % EVERY, JSON.stringify(sorted)).toBe(0)
    expect(ticks.every((t) => t.instance === "A" || t.instance === "B")).toBe(true)

    // removing the scheduler stops the ticks for everyone
    expect(await Effect.runPromise(removeClusterSchedule(base))).toBe(true)
  })

  it("control: two different schedules (one per instance) fire twice as often in all", async () => {
    const prefix = prefixFor()
    const ticks: Array<ScheduledTick> = []
    const stops: Array<() => Promise<void>> = []
    for (const instance of ["A", "B"]) {
      const id = `refresh-test-${instance}`
      cleanups.push(cleanupQueue(prefix, `hecate-schedule-${id}`))
      stops.push(await startInstance({ id, every: EVERY, connection: { url: REDIS_URL }, prefix, instance }, ticks))
    }
    await sleep(RUN_MS)
    for (const stop of stops) await stop()
    expect(ticks.length).toBeGreaterThan(Math.ceil(RUN_MS / EVERY) + 1) // above the single schedule's maximum
  })
})
