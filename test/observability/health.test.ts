// /health of `serve` (built CLI) as its dependencies come up: 503 while Redis and Ogmios are down
// (the body says which), still 503 with Redis up and Ogmios down, 202 while the relay catches up
// from origin, 200 once it follows within the distance. Redis is a private redis-server started
// late; the simulator starts late on a fixed free port.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { sleep, waitFor } from "../relay/harness.js"
import { startPrivateRedis } from "../relay/private-redis.js"
import { httpUrlOf, startCli } from "./support.js"
import { freePort } from "../support/free-port.js"


interface HealthBody {
  status: string
  reasons: Array<string>
  redis: { reachable: boolean; error?: string }
  ogmios: { reachable: boolean; error?: string }
  tipDistance: { blocks?: number }
}

describe("GET /health of serve", () => {
  it("503 (Redis and Ogmios down) -> 503 (Ogmios down) -> 202 (catching up) -> 200 (following)", async () => {
    const redis = await startPrivateRedis()
    await redis.kill() // down until we start it again on the same port
    const simPort = await freePort()
    const dir = mkdtempSync(join(tmpdir(), "hecate-health-"))
    const config = join(dir, "hecate.config.json")
    writeFileSync(config, "{}")
    let sim: SimulatorHandle | undefined
    const running = startCli(["serve", "--relay-start", "origin", "--no-refresh", "--http-port", "0", "--health-max-distance", "3"], {
      HECATE_CONFIG: config,
      REDIS_URL: redis.url,
      OGMIOS_ENDPOINTS: JSON.stringify([`ws://127.0.0.1:${simPort}`]),
      HECATE_RELAY_PREFIX: "hecate-test:health:",
      HECATE_IN_FLIGHT: "1"
    })
    try {
      const base = await httpUrlOf(running)
      const get = async () => {
        const r = await fetch(`${base}/health`)
        return { code: r.status, body: (await r.json()) as HealthBody }
      }

      const down = await get()
      expect(down.code).toBe(503)
      expect(down.body.status).toBe("unavailable")
      expect(down.body.redis.reachable).toBe(false)
      expect(down.body.ogmios.reachable).toBe(false)
      expect(down.body.reasons.join(" ")).toMatch(/Redis unreachable.*Ogmios unreachable/)

      await redis.start()
      await waitFor("Redis to be seen", async () => (await get()).body.redis.reachable, 15_000)
      const half = await get()
      expect(half.code).toBe(503)
      expect(half.body.ogmios.reachable).toBe(false)
      expect(half.body.reasons.join(" ")).not.toMatch(/Redis/)

      // Ogmios comes up with 1500 blocks to catch up on; frames are slowed so catching up takes a while
      const seen: Array<number> = []
      sim = await startSimulator({ port: simPort, network: "custom", securityParameter: 20, initialBlocks: 1500, meanBlockBytes: 256 })
      sim.faults.delay(2)
      await waitFor("the relay to follow the tip", async () => {
        const h = await get()
        if (seen.at(-1) !== h.code) seen.push(h.code)
        return h.code === 200
      }, 90_000)
      expect(seen).toContain(202)
      expect(seen.indexOf(202)).toBeLessThan(seen.lastIndexOf(200))
      const ok = await get()
      expect(ok.body.status).toBe("ok")
      expect(ok.body.tipDistance.blocks).toBeLessThanOrEqual(3)

      // Redis goes away again: 503
      await redis.kill()
      await waitFor("503 after Redis died", async () => (await get()).code === 503, 15_000)
      expect((await get()).body.redis.reachable).toBe(false)
    } finally {
      running.child()?.kill("SIGTERM")
      await running.done.catch(() => undefined)
      await sim?.stop()
      await redis.stop()
      rmSync(dir, { recursive: true, force: true })
      await sleep(10)
    }
  }, 150_000)
})
