// `serve` and `relay` (built CLI, needs `npm run build`) when the node comes back *behind* the
// relay's cursor: the simulator is stopped and a simulator of the same chain, but shorter (the
// same seed with fewer blocks, as a node restarted from an older snapshot), listens on the same
// port. The node does not hold the cursor's final point yet: that is a condition to wait out, not
// a fork. The command must say so once, keep running, and resume when the node has caught up,
// with the streams folding to exactly the node's chain.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Redis as IORedis } from "ioredis"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, expectCanonical, newPrefix, waitFor } from "../relay/harness.js"
import { startCli } from "../observability/support.js"

const CHAIN: SimulatorOptions = {
  network: "custom",
  securityParameter: 10,
  initialBlocks: 60,
  meanBlockBytes: 512,
  blockIntervalMs: 0,
  systemStart: "2026-01-01T00:00:00Z"
}

const BEHIND = /the node is behind the relay \(node tip height (\d+)[^)]*, cursor at height (\d+)[^)]*\): waiting for it to catch up/

let client: IORedis
const prefixes: Array<string> = []
const sims: Array<SimulatorHandle> = []
beforeAll(() => {
  client = new IORedis(TEST_REDIS_URL)
})
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()))
  for (const p of prefixes) await deleteByPrefix(client, p)
  client.disconnect()
})

const cases = [
  { command: "serve", args: (p: string) => ["serve", "--redis-prefix", p, "--relay-start", "origin", "--no-http", "--no-refresh"] },
  { command: "relay", args: (p: string) => ["relay", "--redis-prefix", p, "--from", "origin", "--no-refresh"] }
] as const

describe("the node comes back behind the relay's cursor", () => {
  for (const { command, args } of cases) {
    it(`${command} waits for it to catch up, then resumes from the cursor (no exit, no --depth advice)`, async () => {
      const seed = `node-behind-${command}`
      const first = await startSimulator({ ...CHAIN, port: 0, seed })
      sims.push(first)
      const prefix = newPrefix()
      prefixes.push(prefix)
      const running = startCli([...args(prefix), "--endpoint", first.url], {
        REDIS_URL: TEST_REDIS_URL,
        HECATE_RECONNECT_MAX_DELAY_MS: "500"
      })
      try {
        await caughtUp(client, prefix, first, 40_000)
        const finalHeight = Number(await client.hget(`${prefix}cursor`, "final_height"))
        expect(finalHeight).toBeGreaterThan(30)

        // the node restarts from an older state of the same chain: 20 blocks, below the final point
        await first.stop()
        const second = await startSimulator({ ...CHAIN, port: first.port, seed, initialBlocks: 20 })
        sims.push(second)
        await waitFor("the relay to say the node is behind", () => BEHIND.test(running.output()), 40_000)
          .catch((e: Error) => Promise.reject(new Error(`${e.message}\n${running.output()}`)))
        // it keeps waiting (and says it once) while the node is still behind
        second.forge(10)
        await new Promise((r) => setTimeout(r, 2_500))
        expect(running.child().exitCode, running.output()).toBeNull()
        const said = [...running.output().matchAll(new RegExp(BEHIND.source, "g"))]
        expect(said, running.output()).toHaveLength(1)
        expect(Number(said[0]![1])).toBeLessThan(finalHeight)
        expect(running.output()).not.toMatch(/--depth|is this the same network|rolled back past/)

        // the node catches up past the cursor: the relay resumes and follows it
        second.forge(45)
        await caughtUp(client, prefix, second, 40_000)
        expect(running.output()).toMatch(/the node caught up/)
        expect(running.child().exitCode, running.output()).toBeNull()
        await expectCanonical(client, prefix, second)
      } finally {
        running.child().kill("SIGTERM")
        await running.done.catch(() => undefined)
      }
    }, 120_000)
  }
})
