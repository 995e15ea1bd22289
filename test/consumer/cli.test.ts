/**
 * `hecate consume` (built CLI) SIGKILLed at seeded random moments while a relay follows a forking
 * simulator, then run again with the same --group and --consumer: what the runs printed, taken
 * once per item id, folds (checked: in order, undos of the tip, finals of the next block) to the
 * simulator's canonical chain. Lines printed twice are only the ones a killed run had printed but
 * not acknowledged yet: the first lines of the next run, at most --in-flight of them.
 */
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { seededRandom } from "../support/backfill-e2e.js"
import { caughtUp, newPrefix, startRelay } from "../relay/harness.js"
import { canonical, consumeCli, foldRuns, groupsOf, type Line, parseLines, sleep, until, useTestRedis } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)

const IN_FLIGHT = 4

const consume = (prefix: string) =>
  consumeCli(["--group", "printer", "--consumer", "p1", "--source", "relay", "--redis-prefix", prefix, "--in-flight", String(IN_FLIGHT)])

describe("hecate consume", () => {
  it("SIGKILLed and restarted: the printed items, once per id, fold to the canonical chain", async () => {
    const sim = await startSimulator({
      port: 0, seed: "consume-cli", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
      initialBlocks: 60, meanBlockBytes: 512, blockIntervalMs: 25, forkRate: 0.25, maxRollback: 4
    })
    const prefix = newPrefix()
    prefixes.push(prefix)
    const random = seededRandom(17)
    const runs: Array<Array<Line>> = []
    // the group exists before the relay publishes: the first run starts first
    let run = consume(prefix)
    await until("the consumer group", async () => (await redis.exists(`${prefix}events`)) === 1)
    const relay = startRelay(sim, prefix)
    try {
      for (let kill = 0; kill < 3; kill++) {
        const printed = run.lines()
        await until("new lines", () => run.lines() > printed + 5, undefined, 30_000)
        await sleep(Math.floor(random() * 400))
        run.kill("SIGKILL")
        const r = await run.done
        expect(r.signal).toBe("SIGKILL")
        runs.push(parseLines(r.stdout))
        run = consume(prefix)
      }
      sim.live.stop()
      await caughtUp(redis, prefix, sim)
      const tip = canonical(sim).at(-1)!
      const tipHash = tip.split(":")[1]!
      // the tip printed by this run, or already by a killed one (then acknowledged: not again)
      await until("the tip printed", () => runs.some((r) => r.some((l) => l.hash === tipHash)) || run.output().includes(`"hash":"${tipHash}"`), undefined, 30_000)
      // caught up: a progress line reports the group's lag on events as 0 (height -1 when the killed
      // run had printed and acknowledged everything, and this one had nothing left)
      const progress = /consume printer: \d+ items \([\d.]+\/s\), height -?\d+, events lag 0/
      await until("a progress line at lag 0", () => progress.test(run.errors()), undefined, 30_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n--- the last run's stderr\n${run.errors().slice(-3000)}`)
      })
      run.kill("SIGINT")
      const last = await run.done
      expect(last.code, last.stderr).toBe(130)
      // the run is recorded, and its progress says how far it got and the group's lag on events
      expect(last.stderr).toContain("consume run started")
      expect(last.stderr).toMatch(progress)
      runs.push(parseLines(last.stdout))

      const fold = foldRuns(runs, IN_FLIGHT)
      expect(fold.keys().at(-1)).toBe(tip)
      expect(fold.keys()).toEqual(canonical(sim))
      expect(fold.undos).toBeGreaterThan(0)
    } finally {
      run.kill("SIGKILL")
      await relay.stop()
      await sim.stop()
    }
  }, 120_000)

  it("--register-only registers the group in the history's registry and on events/final, then exits 0", async () => {
    const history = newPrefix()
    const relay = newPrefix()
    prefixes.push(history, relay)
    const run = consumeCli(["--group", "reg", "--register-only", "--history-prefix", history, "--redis-prefix", relay])
    const r = await run.done
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe("")
    expect(await redis.sismember(`${history}consumer_groups`, "reg")).toBe(1)
    for (const key of [`${relay}events`, `${relay}final`]) {
      expect((await groupsOf(redis, key)).map((g) => [g["name"], g["last-delivered-id"]])).toEqual([["reg", "0-0"]])
    }
  })
})
