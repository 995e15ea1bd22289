// A relay or a backfill told to stop (SIGTERM, as a supervisor does) while its Redis is frozen (SIGSTOP: the
// connection stays open, nothing answers) stops within a supervisor's grace period instead of
// waiting for Redis to answer; its last best-effort writes (status, run record, QUIT) give up.
// After Redis thaws, a rerun resumes: the relay's events fold to exactly the chain, the backfill
// completes every epoch.
import { describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { startCli } from "../observability/support.js"
import { runCli } from "../support/cli.js"
import { caughtUp, expectCanonical, newPrefix, sleep, waitFor } from "../relay/harness.js"
import { startPrivateRedis } from "../relay/private-redis.js"

describe("a command stopped while Redis is frozen", () => {
  it("a relay exits within 15 s of SIGTERM, and the rerun after the thaw ends with the exact chain", async () => {
    const redis = await startPrivateRedis()
    const sim = await startSimulator({ network: "custom", securityParameter: 10, initialBlocks: 100, meanBlockBytes: 256, blockIntervalMs: 40 })
    const prefix = newPrefix()
    const env = { REDIS_URL: redis.url, HECATE_RUNS_PREFIX: `${prefix}runs:` }
    const args = ["relay", "--endpoint", sim.url, "--redis-prefix", prefix, "--no-refresh"]
    const first = startCli([...args, "--from", "origin"], env)
    let rerun: ReturnType<typeof startCli> | undefined
    try {
      await waitFor("the relay to write", async () => Number(await redis.client.xlen(`${prefix}events`)) > 50, 30_000)
      redis.freeze()
      await sleep(1_000)
      const signalled = performance.now()
      first.child().kill("SIGTERM")
      const stopped = await first.done
      const tookMs = performance.now() - signalled
      expect(tookMs, first.output()).toBeLessThan(15_000)
      expect(first.output()).not.toMatch(/\n\s+at /)
      expect(stopped.signal ?? null, first.output()).toBeNull()

      redis.thaw()
      rerun = startCli(args, env)
      await waitFor("the rerun to resume from the cursor", () => /resuming relay/.test(rerun!.output()), 30_000)
      sim.live.stop()
      await caughtUp(redis.client, prefix, sim, 30_000)
      await expectCanonical(redis.client, prefix, sim, 0)
    } finally {
      redis.thaw()
      first.child()?.kill("SIGKILL")
      rerun?.child()?.kill("SIGKILL")
      await first.done.catch(() => undefined)
      await rerun?.done.catch(() => undefined)
      await sim.stop()
      await redis.stop()
    }
  }, 120_000)

  it("a backfill exits within 15 s of SIGTERM, and the rerun after the thaw completes every epoch", async () => {
    const redis = await startPrivateRedis()
    const sim = await startSimulator({ network: "custom", securityParameter: 10, epochLength: 200, initialBlocks: 4000, meanBlockBytes: 1024 })
    const prefix = newPrefix()
    const env = { REDIS_URL: redis.url, HECATE_RUNS_PREFIX: `${prefix}runs:`, REDIS_MAX_UNCONSUMED_EPOCHS: "1000" }
    const args = ["backfill", "--endpoint", sim.url, "--redis-prefix", prefix, "--concurrency", "1", "--batch-size", "10"]
    const first = startCli(args, env)
    try {
      await waitFor("a few epochs committed", () => /committed: last_synced_epoch = 3\b/.test(first.output()), 60_000)
      redis.freeze()
      await sleep(1_000)
      const signalled = performance.now()
      first.child().kill("SIGTERM")
      await first.done
      expect(performance.now() - signalled, first.output()).toBeLessThan(15_000)
      expect(first.output()).not.toMatch(/\n\s+at /)

      redis.thaw()
      const rerun = await startCli(args, env).done
      expect(rerun.code, rerun.stderr.slice(-3000)).toBe(0)
      // it picks up where the stopped run left off and ends at the last finalized epoch
      const target = /Relayed epochs up to (\d+)/.exec(rerun.stderr)
      expect(target, rerun.stderr.slice(-3000)).not.toBeNull()
      expect(Number(await redis.client.get(`${prefix}last_synced_epoch`))).toBe(Number(target![1]))
      expect(rerun.stderr).not.toMatch(/Backfilling epochs 0\.\./)
    } finally {
      redis.thaw()
      first.child()?.kill("SIGKILL")
      await first.done.catch(() => undefined)
      await sim.stop()
      await redis.stop()
    }
  }, 180_000)

  it("status reports a Redis that does not answer (exit 1, one line) instead of waiting on it", async () => {
    const redis = await startPrivateRedis()
    try {
      redis.freeze()
      const started = performance.now()
      const r = await runCli(["status"], { env: { REDIS_URL: redis.url, HECATE_ENV_FILE: "/dev/null" }, timeoutMs: 60_000 })
      expect(performance.now() - started).toBeLessThan(30_000)
      expect(r.code, r.stdout + r.stderr).toBe(1)
      expect(r.stdout + r.stderr).toMatch(/Status unavailable: Redis at redis:\/\/127\.0\.0\.1:\d+\S* did not answer in time/)
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /)
    } finally {
      redis.thaw()
      await redis.stop()
    }
  }, 60_000)
})
