/**
 * Both processes SIGKILLed: `hecate sync` (the producer) and `hecate consume --source both` (the
 * consumer), built CLIs, at random moments, each run again after its kill, on a chain that grows
 * and forks throughout. What the consumer runs printed, each item id once, folds (checked) to the
 * simulator's canonical chain, exactly the blocks up to the relay cursor's seam come from the
 * epoch streams, and a run repeats only the killed run's unacknowledged tail (≤ --in-flight).
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
import { canonical, consumeCli, foldRuns, type Line, parseLines, sleep, startSync, until } from "./support.js"

let redis: Redis
let dir: string
const prefixes: Array<string> = []
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-consume-sync-"))
})
afterAll(async () => {
  await cleanup(redis, prefixes)
  redis.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

describe("hecate consume over hecate sync, both SIGKILLed (property)", () => {
  it("the printed items, once per id, fold to the canonical chain, seam exact", async () => {
    let consumerKills = 0
    let producerKills = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.string({ minLength: 1, maxLength: 6 }),
          initialBlocks: fc.integer({ min: 120, max: 240 }),
          inFlight: fc.integer({ min: 1, max: 8 }),
          kills: fc.array(fc.record({ who: fc.constantFrom("consumer", "producer"), afterMs: fc.integer({ min: 100, max: 1500 }) }), { minLength: 1, maxLength: 4 })
        }),
        async (p) => {
          const sim = await startSimulator({
            port: 0, seed: `consume-sync-${p.seed}`, epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
            initialBlocks: p.initialBlocks, meanBlockBytes: 512, blockIntervalMs: 40, forkRate: 0.2, maxRollback: 4
          })
          const relay = newPrefix()
          const history = newPrefix()
          prefixes.push(relay, history)
          const args = ["--group", "printer", "--consumer", "p1", "--history-prefix", history, "--redis-prefix", relay, "--in-flight", String(p.inFlight)]
          const runs: Array<Array<Line>> = []
          // registration first: the consumer runs before the producer starts
          let consumer = consumeCli(args)
          await until("the consumer group", async () => (await redis.exists(`${relay}events`)) === 1, undefined, 30_000)
          let producer = startSync(dir, sim.url, relay, history)
          try {
            for (const kill of p.kills) {
              await sleep(kill.afterMs)
              if (kill.who === "consumer") {
                consumer.kill("SIGKILL")
                runs.push(parseLines((await consumer.done).stdout))
                consumer = consumeCli(args)
                consumerKills++
              } else {
                producer.kill("SIGKILL")
                await producer.done
                await sleep(1_100) // the backfill's producer lock expires (HECATE_LOCK_TTL_MS)
                producer = startSync(dir, sim.url, relay, history)
                producerKills++
              }
            }
            await until("the relay cursor", async () => (await redis.exists(`${relay}cursor`)) === 1, undefined, 60_000)
            await sleep(500)
            sim.live.stop()
            await caughtUp(redis, relay, sim, 30_000)
            const chain = canonical(sim)
            const tipHash = chain.at(-1)!.split(":")[1]!
            // the tip printed by this run, or already by a killed one (then acknowledged: not again)
            await until("the tip printed", () => runs.some((r) => r.some((l) => l.hash === tipHash)) || consumer.output().includes(`"hash":"${tipHash}"`), undefined, 30_000)
            await sleep(300)
            consumer.kill("SIGINT")
            const last = await consumer.done
            expect(last.code, last.stderr.slice(-2000)).toBe(130)
            runs.push(parseLines(last.stdout))
            const fold = foldRuns(runs, p.inFlight)
            expect(fold.keys()).toEqual(chain)
            const cursor = await redis.hgetall(`${relay}cursor`)
            const seamHeight = cursor["seam_height"] === undefined ? -1 : Number(cursor["seam_height"])
            expect(fold.historyApplies).toBe(seamHeight + 1)
          } finally {
            consumer.kill("SIGKILL")
            producer.kill("SIGINT")
            await producer.done
            await sim.stop()
          }
        }
      ),
      { numRuns: propertyRuns(3), seed: 2026, endOnFailure: true }
    )
    expect(consumerKills).toBeGreaterThan(0)
    expect(producerKills).toBeGreaterThan(0)
  }, 300_000)
})
