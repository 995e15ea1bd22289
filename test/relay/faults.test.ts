/**
 * Fault test of the built CLI (`node dist/main.js relay`, needs `npm run build`): a simulator in
 * live mode with random forks, a private redis-server with AOF, and ≥ 30 trials in which the relay
 * is SIGKILLed at a random moment, while Ogmios connections are dropped and Redis is killed or
 * shut down and restarted. Afterwards a last relay catches up, and the contract must hold exactly:
 * folding `events` gives the simulator's canonical chain, `final` is a prefix of it with no
 * duplicates, no entry repeats, and ids strictly increase.
 *
 * HECATE_RELAY_FAULT_TRIALS (default 30) and HECATE_RELAY_FAULT_SEED (default 1) vary it.
 */
import type { ChildProcess } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { type CliResult, runCli } from "../support/cli.js"
import { caughtUp, expectCanonical, newPrefix, sleep, waitFor } from "./harness.js"
import { relayState } from "./support.js"
import { type PrivateRedis, startPrivateRedis } from "./private-redis.js"
import { seededRandom } from "../support/seeded-random.js"

const TRIALS = Number(process.env["HECATE_RELAY_FAULT_TRIALS"] ?? 30)
const SEED = Number(process.env["HECATE_RELAY_FAULT_SEED"] ?? 1)

let redis: PrivateRedis
let sim: SimulatorHandle

beforeAll(async () => {
  redis = await startPrivateRedis()
  sim = await startSimulator({
    port: 0,
    seed: `relay-faults-${SEED}`,
    securityParameter: 10,
    initialBlocks: 40,
    meanBlockBytes: 768,
    blockIntervalMs: 40,
    forkRate: 0.2,
    maxRollback: 6
  })
})

afterAll(async () => {
  await sim?.stop()
  await redis?.stop()
})

describe("relay under faults (built CLI, SIGKILL, dropped connections, Redis restarts)", () => {
  it(`${TRIALS} random SIGKILLs later, events fold to the canonical chain exactly once`, async () => {
    const rnd = seededRandom(SEED)
    const prefix = newPrefix()
    const env = { REDIS_URL: redis.url, HECATE_ENV_FILE: "/dev/null" }
    const relay = (from: string) => {
      let child: ChildProcess | undefined
      const done = runCli(
        ["relay", "--from", from, "--depth", "10", "--redis-prefix", prefix, "--endpoint", sim.url,
          "--in-flight", String(1 + Math.floor(rnd() * 30)), "--retain", "0", "--log-format", "json"],
        {
          env,
          timeoutMs: 60_000,
          onSpawn: (c) => {
            child = c
          }
        }
      )
      let exited = false
      void done.then(() => (exited = true))
      return { done, kill: () => child?.kill("SIGKILL"), exited: () => exited }
    }
    const results: Array<CliResult> = []
    let redisRestarts = 0
    let drops = 0
    let slowTrials = 0
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = relay(trial === 0 ? "origin" : "cursor")
      if (trial === 0) await waitFor("the first cursor", async () => (await redis.client.exists(`${prefix}cursor`)) === 1)
      // half the trials die at a random moment from spawn (start-up included), half at a random
      // moment once the relay has reached the tip (so it is there when forks switch)
      if (rnd() < 0.5) {
        await waitFor("the relay to reach the tip", async () => {
          if (r.exited()) return true
          const tip = sim.chain.tip()
          const last = (await redis.client.lrange(`${prefix}window`, -1, -1).catch(() => []))[0]
          return tip !== "origin" && last?.split(" ")[2] === tip.id
        }, 20_000).catch(() => void slowTrials++) // only biases the kill moment; correctness is checked at the end
      }
      const life = 150 + rnd() * 900
      const fault = rnd()
      const at = life * rnd()
      await sleep(at)
      if (fault < 0.3) {
        sim.faults.dropAfter(1 + Math.floor(rnd() * 40))
        drops++
      } else if (fault < 0.5) {
        if (rnd() < 0.5) await redis.kill()
        else await redis.shutdown()
        await sleep(50 + rnd() * 400)
        await redis.start()
        redisRestarts++
      }
      await sleep(life - at)
      r.kill()
      results.push(await r.done)
      sim.faults.clear()
    }
    // quiet chain, one last relay catches up
    sim.live.stop()
    const last = relay("cursor")
    await caughtUp(redis.client, prefix, sim, 60_000)
    last.kill()
    await last.done

    const killed = results.filter((r) => r.signal === "SIGKILL").length
    const died = results.filter((r) => r.signal !== "SIGKILL")
    // a relay may only end on its own when Redis was down at its start (fail fast on the first connect)
    for (const r of died) expect(r.stderr + r.stdout).toMatch(/refused the connection|dropped the connection|could not be reached/)
    expect(killed).toBeGreaterThanOrEqual(Math.floor(TRIALS * 0.8))
    expect(redisRestarts).toBeGreaterThanOrEqual(3)
    expect(drops).toBeGreaterThanOrEqual(3)

    const stored = await relayState(redis.client, prefix)
    const events = stored.events
    const final = stored.final
    const metrics = await redis.client.hgetall(`${prefix}metrics`)
    console.log(
      `fault run (seed ${SEED}): ${TRIALS} trials, ${killed} SIGKILLed, ${died.length} ended on their own, ${redisRestarts} Redis restarts, ` +
        `${drops} connection drops, ${sim.stats().liveForks} forks, ${slowTrials} trials never at the tip; ${events.length} events (${events.filter((e) => e.type === "undo").length} undos), ` +
        `${final.length} final, chain ${sim.chain.length}; metrics ${JSON.stringify(metrics)}`
    )
    const { chain } = await expectCanonical(redis.client, prefix, sim)
    expect(chain.length).toBe(sim.chain.length)
    expect(final.length).toBe(sim.chain.length - 10)
    expect(events.filter((e) => e.type === "undo").length).toBeGreaterThan(10)
    expect(sim.stats().liveForks).toBeGreaterThan(5)
  }, 170_000)
})
