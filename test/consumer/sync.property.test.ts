/**
 * The whole chain through one consumer group while the producer is `hecate sync` (built CLI) on a
 * simulated chain that grows and forks during the backfill and after: for random chains, random
 * consumer restarts (a session stops on an item it was handed and never acks it; the next one is the
 * same consumer, or a new one that claims what the dead one held), random read
 * sizes and credits, and a random SIGKILL of the producer (then a second `sync`), the checked fold
 * of everything the group was handed equals the simulator's canonical chain: every block applied
 * once, in order, each undo of the tip, each final the next block, nothing lost or repeated at
 * the seam between the epoch streams and `events`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { propertyRuns } from "../../src/testing/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, cleanup, newPrefix } from "../relay/harness.js"
import { canonical, CheckedFold, runConsumer, sleep, startSync, until } from "./support.js"

let redis: Redis
let dir: string
const prefixes: Array<string> = []

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-consumer-"))
})
afterAll(async () => {
  await cleanup(redis, prefixes)
  redis.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

/** pending entries this idle belong to a dead consumer (short, so a replacement can take them over in the test) */
const CLAIM_IDLE_MS = 300

describe("consume$ over sync (property)", () => {
  it("folds to the canonical chain across forks, consumer restarts and a SIGKILLed producer", async () => {
    let runs = 0
    let totalRestarts = 0
    let totalRenames = 0
    let totalUndos = 0
    let totalHistory = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.string({ minLength: 1, maxLength: 8 }),
          forkRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
          initialBlocks: fc.integer({ min: 120, max: 260 }),
          restarts: fc.array(fc.record({ after: fc.integer({ min: 1, max: 120 }), rename: fc.boolean() }), { minLength: 0, maxLength: 4 }),
          inFlight: fc.integer({ min: 1, max: 8 }),
          historyCount: fc.integer({ min: 1, max: 3 }),
          eventsCount: fc.integer({ min: 1, max: 40 }),
          killAfterMs: fc.option(fc.integer({ min: 200, max: 4000 }), { nil: undefined })
        }),
        async (p) => {
          runs++
          const sim = await startSimulator({
            port: 0, seed: `consumer-${p.seed}`, epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
            initialBlocks: p.initialBlocks, meanBlockBytes: 512, blockIntervalMs: 40, forkRate: p.forkRate, maxRollback: 4
          })
          const relayPrefix = newPrefix()
          const historyPrefix = newPrefix()
          prefixes.push(relayPrefix, historyPrefix)
          const options = {
            redis, history: historyPrefix, relay: relayPrefix, group: "indexer", consumer: "c1", pollMs: 50,
            inFlight: p.inFlight, historyCount: p.historyCount, eventsCount: p.eventsCount, claimIdleMs: CLAIM_IDLE_MS
          }
          const fold = new CheckedFold()
          // the consumer is registered before the producer starts (the documented start-up order).
          // Restart points: after `restarts` items in total, a session stops on the item it was
          // just handed (never folded, never acked) and a new session starts: of the same
          // consumer, or (rename) of a new consumer once the old one's entries are idle long
          // enough to be claimed (a crashed consumer replaced under another name).
          const thresholds: Array<number> = []
          for (const r of p.restarts) thresholds.push((thresholds.at(-1) ?? 0) + r.after)
          const renames = p.restarts.map((r) => r.rename)
          const hook = { onItem: () => (thresholds.length > 0 && fold.seen.size >= thresholds[0]! ? "stop" as const : "ack" as const) }
          let session = runConsumer(options, fold, hook)
          let stopped = false
          const restarter = (async () => {
            while (!stopped) {
              await sleep(20)
              if (session.ended()) {
                thresholds.shift()
                totalRestarts++
                if (renames.shift() === true) {
                  totalRenames++
                  options.consumer = `c${totalRestarts}`
                  await sleep(CLAIM_IDLE_MS + 50)
                }
                session = runConsumer(options, fold, hook)
              }
            }
          })()
          let producer = startSync(dir, sim.url, relayPrefix, historyPrefix)
          try {
            if (p.killAfterMs !== undefined) {
              await sleep(p.killAfterMs)
              producer.kill("SIGKILL")
              await producer.done
              await sleep(1_100) // the backfill's producer lock expires (HECATE_LOCK_TTL_MS)
              producer = startSync(dir, sim.url, relayPrefix, historyPrefix)
            }
            await until("the relay cursor", async () => (await redis.exists(`${relayPrefix}cursor`)) === 1, undefined, 60_000)
            await sleep(1_000)
            sim.live.stop()
            await caughtUp(redis, relayPrefix, sim, 30_000)
            thresholds.length = 0
            const tip = canonical(sim).at(-1)
            await until("the consumer at the tip", () => fold.keys().at(-1) === tip, session.failed, 30_000)
            expect(fold.keys()).toEqual(canonical(sim))
            // history blocks are final, and the relay's finals continue them up to depth below the tip
            await until("the tip's finals", () => fold.chain.length - fold.finalCount <= 10, session.failed, 10_000)
            // the seam: the history holds exactly the blocks up to the cursor's seam, the relay the rest
            const cursor = await redis.hgetall(`${relayPrefix}cursor`)
            const seamHeight = cursor["seam_height"] === undefined ? -1 : Number(cursor["seam_height"])
            expect(fold.historyApplies).toBe(seamHeight + 1)
            expect(fold.applies - fold.undos - fold.historyApplies).toBe(fold.chain.length - seamHeight - 1)
            totalUndos += fold.undos
            totalHistory += fold.historyApplies
          } finally {
            stopped = true
            await restarter
            session.stop()
            producer.kill("SIGINT")
            const r = await producer.done
            await sim.stop()
            if (![0, 130, null].includes(r.code)) throw new Error(`sync exited ${r.code}\n${r.stderr.slice(-3000)}`)
          }
        }
      ),
      { numRuns: propertyRuns(4), seed: 1717, endOnFailure: true }
    )
    expect(runs).toBeGreaterThan(0)
    expect(totalRestarts).toBeGreaterThan(0)
    expect(totalRenames).toBeGreaterThan(0)
    expect(totalUndos).toBeGreaterThan(0)
    expect(totalHistory).toBeGreaterThan(100)
  }, 300_000)
})
