/**
 * Redis failing under a running backfill, as an operator meets it: the server is killed and comes
 * back a few seconds later (a restart, with its AOF), it freezes (the connection stays open and
 * nothing answers), or it is full (maxmemory with noeviction). An outage is logged once when it
 * starts, with its cause, and once when it ends, and the run completes with exactly the canonical
 * chain. A full Redis is named as such, with what to do, and is never blamed on the Ogmios endpoint.
 */
import { describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../../src/simulator/index.js"
import {
  deleteByPrefix,
  type E2e,
  expectCanonicalEpochs,
  onceLogged,
  output,
  redisFaultFixture,
  sleep
} from "../../support/backfill-e2e.js"
import type { PrivateRedis } from "../../relay/private-redis.js"

let t: E2e
let sim: SimulatorHandle
let redis: PrivateRedis
let target = 0
const ARGS = ["--concurrency", "2", "--batch-size", "5"]
const URL = String.raw`Redis at redis://127\.0\.0\.1:\d+/0`

redisFaultFixture(420, (f) => ({ t, redis, sim, target } = f))

/**
 * A backfill (frames slowed so it is mid-run) during which `outage` happens once epoch 1 is
 * committed; the lock's TTL outlives the outage (a longer one is exit 15, see lock-loss).
 */
const backfillThrough = async (name: string, outage: () => Promise<void>) => {
  const prefix = `${t.prefix}${name}:`
  sim.faults.delay(3)
  let done: Promise<void> | undefined
  try {
    const run = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS, "--retries", "3"], {
      env: { REDIS_URL: redis.url, HECATE_LOCK_TTL_MS: "30000" },
      timeoutMs: 90_000,
      onSpawn: onceLogged(/committed: last_synced_epoch = 1/, () => (done = outage()))
    })
    await done
    expect(run.code, output(run)).toBe(0)
    await expectCanonicalEpochs(redis.client, prefix, sim, target)
    return run.stdout + run.stderr
  } finally {
    redis.thaw()
    sim.faults.delay(0)
    await deleteByPrefix(redis.client, prefix)
  }
}

describe("Redis outages under a backfill (CLI)", () => {
  it("a Redis restart mid-run is logged once at each end, and the run completes exactly", async () => {
    const log = await backfillThrough("restart", () => redis.kill().then(() => sleep(3_000)).then(() => redis.start()))
    expect(log.match(new RegExp(`WARN.*${URL} is unreachable`, "g")) ?? [], log).toHaveLength(1)
    expect(log.match(new RegExp(`${URL} back after \\d+\\.\\d s`, "g")) ?? [], log).toHaveLength(1)
    expect(log).not.toMatch(/next endpoint/)
  }, 120_000)

  it("a Redis that freezes mid-run (connection open, no answers) is logged once at each end, and the run completes exactly", async () => {
    const log = await backfillThrough("frozen", () => {
      redis.freeze()
      return sleep(8_000).then(() => redis.thaw())
    })
    expect(log.match(new RegExp(`WARN.*${URL} does not answer \\(no reply to PING for 5 s\\)`, "g")) ?? [], log).toHaveLength(1)
    expect(log.match(new RegExp(`${URL} answers again after \\d+\\.\\d s`, "g")) ?? [], log).toHaveLength(1)
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
        onSpawn: onceLogged(/Backfilling epochs/, () => {
          filled = redis.client.info("memory").then((info) => {
            const used = Number(/used_memory:(\d+)/.exec(info)![1])
            return redis.client.config("SET", "maxmemory", String(used + 100_000))
          })
        })
      })
      await filled
      const log = run.stdout + run.stderr
      expect(run.code, output(run)).toBe(10)
      expect(log).toMatch(new RegExp(`${URL} is out of memory: it refuses writes`))
      expect(log).toMatch(/raise maxmemory/)
      expect(log).not.toMatch(/next endpoint|EXECABORT/)
    } finally {
      await redis.client.config("SET", "maxmemory", "0")
      await deleteByPrefix(redis.client, prefix)
    }
  }, 120_000)
})
