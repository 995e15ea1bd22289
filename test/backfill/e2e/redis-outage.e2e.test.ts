/**
 * Redis failing under a running backfill, as an operator meets it: the server is killed and comes
 * back a few seconds later (a restart, with its AOF), or it is full (maxmemory with noeviction).
 * An outage is logged once when it starts, with its cause, and once when it ends, and the run
 * completes with exactly the canonical chain. A full Redis is named as such, with what to do,
 * and is never blamed on the Ogmios endpoint.
 */
import type { ChildProcess } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../../src/simulator/index.js"
import { deleteByPrefix, e2e, type E2e, expectedEpoch, lastFinalized, output, sleep, snapshot } from "../../support/backfill-e2e.js"
import { type PrivateRedis, startPrivateRedis } from "../../relay/private-redis.js"

let t: E2e
let sim: SimulatorHandle
let redis: PrivateRedis
let target = 0
const ARGS = ["--concurrency", "2", "--batch-size", "5"]

beforeAll(async () => {
  t = await e2e()
  redis = await startPrivateRedis()
  sim = await t.sim({
    port: 0,
    network: "custom",
    epochLength: 120,
    activeSlotsCoefficient: 0.5,
    securityParameter: 10,
    meanBlockBytes: 2048,
    initialBlocks: 420
  })
  target = lastFinalized(sim)
}, 60_000)

afterAll(async () => {
  await t?.cleanup()
  await redis?.stop()
})

describe("Redis outages under a backfill (CLI)", () => {
  it("a Redis restart mid-run is logged once at each end, and the run completes exactly", async () => {
    const prefix = `${t.prefix}outage:`
    sim.faults.delay(3)
    let restarted: Promise<void> | undefined
    try {
      const run = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS, "--retries", "3"], {
        // a lock TTL longer than the outage: the run keeps its lock (a longer one is exit 15, see lock-loss)
        env: { REDIS_URL: redis.url, HECATE_LOCK_TTL_MS: "10000" },
        timeoutMs: 90_000,
        onSpawn: (child: ChildProcess) => {
          let seen = ""
          child.stderr?.on("data", (d: Buffer) => {
            seen += d.toString()
            if (restarted !== undefined || !/committed: last_synced_epoch = 1/.test(seen)) return
            restarted = redis.kill().then(() => sleep(3_000)).then(() => redis.start())
          })
        }
      })
      await restarted
      const log = run.stdout + run.stderr
      expect(run.code, output(run)).toBe(0)
      expect(log.match(/WARN.*Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable/g) ?? [], log).toHaveLength(1)
      expect(log.match(/Redis at redis:\/\/127\.0\.0\.1:\d+\/0 back after \d+\.\d s/g) ?? [], log).toHaveLength(1)
      expect(log).not.toMatch(/next endpoint/)
    } finally {
      sim.faults.delay(0)
    }
    const state = await snapshot(redis.client, prefix)
    for (let e = 0; e <= target; e++) {
      expect(state.epochs[e]!.batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
    }
    expect(state.events.map((e) => e.epoch)).toEqual(Array.from({ length: target + 1 }, (_, e) => String(e)))
    await deleteByPrefix(redis.client, prefix)
  }, 120_000)

  it("a Redis that freezes mid-run (connection open, no answers) is logged once at each end, and the run completes exactly", async () => {
    const prefix = `${t.prefix}frozen:`
    sim.faults.delay(3)
    let thawed: Promise<void> | undefined
    try {
      const run = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS, "--retries", "3"], {
        // the lock outlives the freeze (a longer one is exit 15, see lock-loss)
        env: { REDIS_URL: redis.url, HECATE_LOCK_TTL_MS: "30000" },
        timeoutMs: 90_000,
        onSpawn: (child: ChildProcess) => {
          let seen = ""
          child.stderr?.on("data", (d: Buffer) => {
            seen += d.toString()
            if (thawed !== undefined || !/committed: last_synced_epoch = 1/.test(seen)) return
            redis.freeze()
            thawed = sleep(8_000).then(() => redis.thaw())
          })
        }
      })
      await thawed
      const log = run.stdout + run.stderr
      expect(run.code, output(run)).toBe(0)
      expect(log.match(/WARN.*Redis at redis:\/\/127\.0\.0\.1:\d+\/0 does not answer \(no reply to PING for 5 s\)/g) ?? [], log).toHaveLength(1)
      expect(log.match(/Redis at redis:\/\/127\.0\.0\.1:\d+\/0 answers again after \d+\.\d s/g) ?? [], log).toHaveLength(1)
    } finally {
      redis.thaw()
      sim.faults.delay(0)
    }
    const state = await snapshot(redis.client, prefix)
    for (let e = 0; e <= target; e++) {
      expect(state.epochs[e]!.batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
    }
    expect(state.events.map((e) => e.epoch)).toEqual(Array.from({ length: target + 1 }, (_, e) => String(e)))
    await deleteByPrefix(redis.client, prefix)
  }, 120_000)

  it("a full Redis (maxmemory, noeviction) is named as out of memory, with what to do, and not blamed on Ogmios", async () => {
    const prefix = `${t.prefix}full:`
    await redis.client.config("SET", "maxmemory-policy", "noeviction")
    // Redis fills up once the run is writing epochs
    let filled: Promise<unknown> | undefined
    try {
      const run = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], {
        env: { REDIS_URL: redis.url },
        timeoutMs: 90_000,
        onSpawn: (child: ChildProcess) => {
          let seen = ""
          child.stderr?.on("data", (d: Buffer) => {
            seen += d.toString()
            if (filled !== undefined || !/Backfilling epochs/.test(seen)) return
            filled = redis.client.info("memory").then((info) => {
              const used = Number(/used_memory:(\d+)/.exec(info)![1])
              return redis.client.config("SET", "maxmemory", String(used + 100_000))
            })
          })
        }
      })
      await filled
      const log = run.stdout + run.stderr
      expect(run.code, output(run)).toBe(10)
      expect(log).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is out of memory: it refuses writes/)
      expect(log).toMatch(/raise maxmemory/)
      expect(log).not.toMatch(/next endpoint|EXECABORT/)
    } finally {
      await redis.client.config("SET", "maxmemory", "0")
      await deleteByPrefix(redis.client, prefix)
    }
  }, 120_000)
})
