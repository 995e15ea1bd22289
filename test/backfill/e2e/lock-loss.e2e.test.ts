/**
 * A backfill that loses its producer lock must stop writing. Redis freezes (SIGSTOP: connections
 * stay open, nothing answers) for longer than the lock's TTL while a backfill is writing; a second
 * backfill is started meanwhile and takes the prefix over once Redis answers again. Every write of
 * the first is fenced on the lock in Redis itself, so it must stop with exit 15 naming the lost
 * lock, nothing it sent after the loss may land, and the second run's result must equal an
 * uninterrupted run's, block for block.
 */
import type { ChildProcess } from "node:child_process"
import { describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../../src/simulator/index.js"
import {
  deleteByPrefix,
  type E2e,
  expectCanonicalEpochs,
  expectedEpoch,
  onceLogged,
  output,
  redisFaultFixture,
  sleep
} from "../../support/backfill-e2e.js"
import type { CliResult } from "../../support/cli.js"
import type { PrivateRedis } from "../../relay/private-redis.js"

let t: E2e
let sim: SimulatorHandle
let redis: PrivateRedis
let target = 0
const TTL_MS = 1_000
const ARGS = ["--concurrency", "2", "--batch-size", "5"]

redisFaultFixture(480, (f) => ({ t, redis, sim, target } = f)) // ≈ 8 epochs of ~60 blocks, 7 finalized

describe("producer lock lost mid-run (Redis frozen longer than the lock TTL)", () => {
  it("the first run stops with exit 15 and writes nothing more; the run that took over completes exactly", async () => {
    const prefix = `${t.prefix}lock:`
    const env = { REDIS_URL: redis.url, HECATE_LOCK_TTL_MS: String(TTL_MS) }
    const backfill = (onSpawn?: (child: ChildProcess) => void) =>
      t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], { env, timeoutMs: 90_000, ...(onSpawn ? { onSpawn } : {}) })
    // slow frames, so the run is mid-write when Redis freezes
    sim.faults.delay(3)
    let second: Promise<CliResult> | undefined
    try {
      const first = await backfill(
        onceLogged(/committed: last_synced_epoch = 1/, () => {
          redis.freeze()
          // the other producer starts during the outage and takes the lock when Redis is back
          second = backfill()
          void sleep(TTL_MS * 2.5).then(() => redis.thaw())
        })
      )
      expect(first.code, output(first)).toBe(15)
      expect(first.stdout + first.stderr).toMatch(/lost the producer lock/)
      // stopping is not an epoch failing
      expect(first.stdout + first.stderr).not.toMatch(/epoch \d+ failed after/)
      sim.faults.delay(0)
      expect(second, "the second run was started").toBeDefined()
      const taken = await second!
      expect(taken.code, output(taken)).toBe(0)
    } finally {
      redis.thaw()
      sim.faults.delay(0)
    }
    // every epoch exactly the canonical chain, once, committed once, counted once
    const state = await expectCanonicalEpochs(redis.client, prefix, sim, target)
    for (let e = 0; e <= target; e++) {
      expect(state.meta[e]!.blocks_total, `epoch ${e} blocks_total`).toBe(String(expectedEpoch(sim, e).length))
    }
    const blocks = Array.from({ length: target + 1 }, (_, e) => expectedEpoch(sim, e).length).reduce((a, b) => a + b, 0)
    expect(state.metrics.blocks_total).toBe(String(blocks))
    expect(state.producerLock).toBeNull()
    await deleteByPrefix(redis.client, prefix)
  }, 180_000)
})
