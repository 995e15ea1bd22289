// `serve` (built CLI) over a private redis-server that is down at start, comes up, is killed while
// the relay follows the chain and is started again: the supervisor starts the relay over while
// Redis is unreachable (at start), its writes wait out the outage later, and once the chain stops
// the events fold to exactly the simulator's chain (no gap, no duplicate). While Redis is down,
// /health says the relay waits for Redis. SIGTERM still exits 0.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { caughtUp, expectCanonical, newPrefix, sleep, waitFor } from "../relay/harness.js"
import { startPrivateRedis } from "../relay/private-redis.js"
import { httpUrlOf, startCli } from "../observability/support.js"

describe("serve across Redis restarts", () => {
  it("starts the relay over while Redis is down, rides out a kill mid-stream, and ends with the exact chain", async () => {
    const redis = await startPrivateRedis()
    await redis.kill() // down at start
    const dir = mkdtempSync(join(tmpdir(), "hecate-serve-redis-"))
    const config = join(dir, "hecate.config.json")
    writeFileSync(config, "{}")
    const prefix = newPrefix()
    let sim: SimulatorHandle | undefined
    sim = await startSimulator({ network: "custom", securityParameter: 10, initialBlocks: 200, meanBlockBytes: 256, blockIntervalMs: 30 })
    const running = startCli(["serve", "--relay-start", "origin", "--no-refresh", "--http-port", "0"], {
      HECATE_CONFIG: config,
      REDIS_URL: redis.url,
      OGMIOS_ENDPOINTS: JSON.stringify([sim.url]),
      HECATE_RELAY_PREFIX: prefix
    })
    try {
      await waitFor("the relay to start over while Redis is down", () => /relay: .*; starting over in \d+ ms/.test(running.output()), 30_000)
      await redis.start()
      const events = async () => Number(await redis.client.xlen(`${prefix}events`))
      await waitFor("the relay to write once Redis is up", async () => (await events()) > 150, 30_000)

      // killed while the relay follows the growing chain, back a few seconds later on the same data;
      // meanwhile /health says the relay follows the chain but waits for Redis to write it
      const base = await httpUrlOf(running)
      const relayState = async () => ((await (await fetch(`${base}/health`)).json()) as { relay?: { connection?: string } }).relay?.connection
      expect(await relayState()).toBe("following")
      await redis.kill()
      await waitFor("/health to say the relay waits for Redis", async () => (await relayState()) === "waiting for Redis", 10_000).catch(async (e) => {
        console.log(JSON.stringify(await (await fetch(`${base}/health`)).json()), running.output().slice(-3000))
        throw e
      })
      await sleep(500)
      await redis.start()
      const before = await events()
      await waitFor("the relay to write again after the restart", async () => (await events()) > before + 10, 30_000)
      expect(await relayState()).toBe("following")
      expect(running.child().exitCode).toBeNull()

      sim.live.stop()
      await caughtUp(redis.client, prefix, sim, 30_000)
      await expectCanonical(redis.client, prefix, sim, 0)
      running.child().kill("SIGTERM")
      const stopped = await running.done
      expect(stopped.code, running.output()).toBe(0)
    } finally {
      running.child()?.kill("SIGKILL")
      await running.done.catch(() => undefined)
      await sim?.stop()
      await redis.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 150_000)
})
