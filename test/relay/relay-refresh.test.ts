/**
 * Inside `relay` the epoch refresh runs on its Effect schedule (built CLI, needs `npm run build`):
 * while the relay follows a simulator with short epochs, the epoch cache is kept current with
 * exactly the final epochs, and the relay is unaffected.
 */
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { expectedLastFinal, SHORT_EPOCHS } from "../refresh/support.js"
import { runCli } from "../support/cli.js"
import { cleanup, newPrefix, waitFor } from "./harness.js"

let client: IORedis
let sim: SimulatorHandle
let dir: string
const prefix = newPrefix()

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-relay-refresh-"))
  sim = await startSimulator({ port: 0, ...SHORT_EPOCHS, blockIntervalMs: 20 })
})

afterAll(async () => {
  await sim?.stop()
  await cleanup(client, [prefix])
  client.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

/** The highest epoch the cache file records for any network (undefined when absent). */
const lastCached = (path: string): number | undefined => {
  if (!existsSync(path)) return undefined
  const cache = JSON.parse(readFileSync(path, "utf8")) as { networks: Record<string, Record<string, unknown>> }
  const epochs = Object.values(cache.networks).flatMap((rows) => Object.keys(rows).map(Number))
  return epochs.length === 0 ? undefined : Math.max(...epochs)
}

it("relay runs the scheduled refresh: the epoch cache follows the final epochs while it relays", async () => {
  const cache = join(dir, "epoch_cache.json")
  let child: ChildProcess | undefined
  const done = runCli(["relay", "--endpoint", sim.url, "--redis-prefix", prefix, "--from", "tip", "--refresh-interval", "300 millis"], {
    env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_EPOCH_CACHE: cache },
    timeoutMs: 60_000,
    onSpawn: (c) => (child = c)
  })
  const k = SHORT_EPOCHS.securityParameter!
  const firstFinal = expectedLastFinal(sim, k)
  await waitFor("the cache to record the final epochs", () => (lastCached(cache) ?? -1) >= firstFinal, 30_000)
  // the chain grows by more than an epoch: the next runs record the newly final epochs too
  const target = firstFinal + 1
  await waitFor("a newly final epoch", () => expectedLastFinal(sim, k) >= target, 30_000)
  await waitFor("the cache to follow it", () => (lastCached(cache) ?? -1) >= target, 30_000)
  sim.live.stop()
  const relayed = await client.xlen(`${prefix}events`)
  child?.kill("SIGINT")
  const result = await done
  expect(result.code, result.stderr.slice(-2000)).toBe(130)
  expect(relayed).toBeGreaterThan(0)
  // never an epoch that is not final
  expect(lastCached(cache)!).toBeLessThanOrEqual(expectedLastFinal(sim, k))
}, 90_000)
