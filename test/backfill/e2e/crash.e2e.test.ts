/**
 * Crash safety of `hecate backfill`: the process is SIGKILLed at random moments (seeded) and rerun
 * to completion; the Redis content must then be identical to an uninterrupted run's — the same
 * entries (data, in order) in the same epoch streams, the same bookkeeping, one epoch_complete per
 * epoch — ignoring only entry ids and timestamps. Ctrl-C (SIGINT) exits 130 with "Interrupted.
 * Rerun to resume." and the rerun completes with the same content.
 *
 * The rerun right after a SIGKILL finds the dead producer's lock: it must wait for it to expire
 * (HECATE_LOCK_TTL_MS, 3 s here) instead of exiting 15.
 */
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import type { ChildProcess } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../../src/simulator/index.js"
import {
  deleteByPrefix,
  e2e,
  type E2e,
  expectedEpoch,
  lastFinalized,
  output,
  seededRandom,
  snapshot,
  type Snapshot
} from "../../support/backfill-e2e.js"

const TRIALS = Number(process.env["HECATE_CRASH_TRIALS"] ?? 20)
const SEED = Number(process.env["HECATE_CRASH_SEED"] ?? 20_260_501)

let t: E2e
let sim: SimulatorHandle
let reference: Snapshot
let referenceMs = 0
/** When the reference run started writing epochs (after start-up, planning and deriving the index). */
let writingFromMs = 0
let target = 0
const ARGS = ["--concurrency", "2", "--batch-size", "9"]

const freshPrefix = () => `hecate-test:${randomBytes(6).toString("hex")}:`

beforeAll(async () => {
  t = await e2e()
  sim = await t.sim({
    port: 0,
    network: "custom",
    epochLength: 120,
    activeSlotsCoefficient: 0.5,
    securityParameter: 10,
    meanBlockBytes: 3072,
    initialBlocks: 420 // ≈ 7 epochs of ~60 blocks, 6 finalized
  })
  target = lastFinalized(sim)
  const started = performance.now()
  const run = await t.backfill(["--endpoint", sim.url, ...ARGS], {
    onSpawn: (child) => {
      let seen = ""
      child.stderr?.on("data", (d: Buffer) => {
        seen += d.toString()
        if (writingFromMs === 0 && seen.includes("Backfilling epochs")) writingFromMs = performance.now() - started
      })
    }
  })
  referenceMs = performance.now() - started
  expect(run.code, output(run)).toBe(0)
  reference = await t.snapshot()
  // the reference itself is right: every epoch is the canonical chain
  for (let e = 0; e <= target; e++) {
    expect(reference.epochs[e]!.batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
  }
  expect(reference.events.map((e) => e.epoch)).toEqual(Array.from({ length: target + 1 }, (_, e) => String(e)))
  expect(reference.readySet).toEqual([])
  expect(reference.resumeMap).toEqual({})
  expect(reference.producerLock).toBeNull()
}, 120_000)

afterAll(async () => {
  await t?.cleanup()
})

describe("crash safety (CLI)", () => {
  it(`SIGKILL at ${TRIALS} random moments, then a rerun: the content equals an uninterrupted run's`, async () => {
    const random = seededRandom(SEED)
    const outcomes: Array<string> = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const prefix = freshPrefix()
      // a fresh epoch cache every fourth trial, so some kills hit the derivation of the index
      // (a 5 s lock TTL: the rerun starts while a killed run's lock is still there, and must wait it out)
      const env = { HECATE_EPOCH_CACHE: trial % 4 === 0 ? join(t.dir, `cache-${trial}.json`) : t.cachePath, HECATE_LOCK_TTL_MS: "5000" }
      // Even trials: a delay uniform over the reference run's duration (most of a short run is
      // start-up and planning). Odd trials land in the writing phase whatever the machine's load:
      // a delay uniform over the reference's time per epoch, after a random epoch k was synced
      // (k = -1: after "Backfilling epochs").
      const anchorEpoch = Math.floor(random() * (target + 1)) - 1
      const perEpochMs = (referenceMs - writingFromMs) / (target + 1)
      const delay = trial % 2 === 0 ? Math.round(random() * referenceMs) : Math.round(random() * perEpochMs)
      const anchor = anchorEpoch < 0 ? /Backfilling epochs/ : new RegExp(`epoch ${anchorEpoch}: \\d+ blocks synced`)
      try {
        let killedAt: string | undefined
        const kill = (child: ChildProcess, what: string) =>
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) {
              killedAt = what
              child.kill("SIGKILL")
            }
          }, delay)
        const killed = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], {
          env,
          onSpawn: (child: ChildProcess) => {
            if (trial % 2 === 0) return void kill(child, `${delay} ms`)
            let seen = ""
            let armed = false
            child.stderr?.on("data", (d: Buffer) => {
              seen += d.toString()
              if (!armed && anchor.test(seen)) {
                armed = true
                kill(child, `${delay} ms after /${anchor.source}/`)
              }
            })
          }
        })
        // a kill that raced the process's own exit (it had just finished: exit 0, no signal) makes
        // this a "finished first" trial; anything else must be exactly a SIGKILL or a clean exit
        if (killedAt !== undefined && killed.signal === null && killed.code === 0) killedAt = undefined
        if (killedAt !== undefined) expect(killed.signal, output(killed)).toBe("SIGKILL")
        else expect(killed.code, output(killed)).toBe(0)
        const state = await snapshot(t.redis, prefix)
        const lockLeft = state.producerLock !== null
        outcomes.push(
          killedAt === undefined
            ? "finished first"
            : `killed at ${killedAt}${lockLeft ? " holding the lock" : ""}, last_synced ${state.lastSyncedEpoch ?? "unset"}`
        )

        const rerun = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], { env })
        expect(rerun.code, `trial ${trial} (kill at ${delay} ms): ${output(rerun)}`).toBe(0)
        // the dead producer's lock, when still there, was waited out, not refused with 15
        if (lockLeft && rerun.stderr.includes(`is held by ${state.producerLock}`)) outcomes[outcomes.length - 1] += ", rerun took the lock over"
        expect(await snapshot(t.redis, prefix), `trial ${trial} (kill at ${delay} ms)`).toEqual(reference)
      } finally {
        await deleteByPrefix(t.redis, prefix)
      }
    }
    console.log(`crash trials (seed ${SEED}, reference run ${Math.round(referenceMs)} ms, writing from ${Math.round(writingFromMs)} ms):\n${outcomes.join("\n")}`)
    // the kills must really have interrupted runs at different stages, not only before or after them
    const interrupted = outcomes.filter((o) => o.startsWith("killed"))
    expect(outcomes.filter((o) => o.includes("took the lock over")).length, outcomes.join("\n")).toBeGreaterThanOrEqual(3)
    expect(interrupted.length, outcomes.join("\n")).toBeGreaterThanOrEqual(TRIALS / 2)
    const stages = new Set(interrupted.map((o) => o.split("last_synced ")[1]))
    expect(stages.size, outcomes.join("\n")).toBeGreaterThanOrEqual(3)
  }, 600_000)

  it("Ctrl-C (SIGINT) mid-run exits 130 with 'Interrupted. Rerun to resume.'; the rerun completes with the same content", async () => {
    const prefix = freshPrefix()
    const env = { HECATE_EPOCH_CACHE: join(t.dir, "cache-sigint.json") }
    try {
      const interrupted = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], {
        env,
        onSpawn: (child) => {
          let seen = ""
          child.stderr?.on("data", (d: Buffer) => {
            seen += d.toString()
            if (seen.includes("committed: last_synced_epoch = 1") && child.exitCode === null && !child.killed) child.kill("SIGINT")
          })
        }
      })
      expect(interrupted.code, output(interrupted)).toBe(130)
      expect(interrupted.stdout).toContain("Interrupted. Rerun to resume.")
      expect(interrupted.stdout + interrupted.stderr).not.toMatch(/epoch \d+ failed after/)
      const partial = await snapshot(t.redis, prefix)
      expect(Number(partial.lastSyncedEpoch)).toBeGreaterThanOrEqual(1)
      expect(Number(partial.lastSyncedEpoch)).toBeLessThan(target)
      expect(partial.producerLock).toBeNull() // released on the way out

      const rerun = await t.backfill(["--redis-prefix", prefix, "--endpoint", sim.url, ...ARGS], { env })
      expect(rerun.code, output(rerun)).toBe(0)
      expect(await snapshot(t.redis, prefix)).toEqual(reference)
    } finally {
      await deleteByPrefix(t.redis, prefix)
    }
  })
})
