/**
 * Two `serve --refresh-cluster` instances on one Redis (built CLI, needs `npm run build`): the
 * scheduled refresh fires once per tick across both (a BullMQ job scheduler), not once per
 * instance. Counted through the run history both instances record their refresh runs in.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { runHistoryAt } from "../support/redis-services.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { SHORT_EPOCHS } from "../refresh/support.js"
import { cleanup, newPrefix, sleep, waitFor } from "../relay/harness.js"
import { runCli } from "../support/cli.js"

let client: IORedis
let sim: SimulatorHandle
let dir: string
const base = newPrefix()
const queuePrefix = `hecate-test-bull-${base.split(":")[1]}`

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-cluster-refresh-"))
  sim = await startSimulator({ port: 0, ...SHORT_EPOCHS })
})

afterAll(async () => {
  await sim?.stop()
  await cleanup(client, [base, `${queuePrefix}:`])
  client.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

it("refresh fires once per tick across two serve instances", async () => {
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    HECATE_ENV_FILE: "/dev/null",
    HECATE_EPOCH_CACHE: join(dir, "epoch_cache.json"),
    HECATE_RUNS_PREFIX: `${base}runs:`,
    HECATE_QUEUE_PREFIX: queuePrefix
  }
  const instances = [1, 2].map((i) => {
    let child: ChildProcess | undefined
    let output = ""
    const done = runCli(
      ["serve", "--endpoint", sim.url, "--redis-prefix", `${base}relay${i}:`, "--relay-start", "tip", "--no-http",
        "--refresh-cluster", "--refresh-interval", "1 seconds"],
      {
        env,
        timeoutMs: 60_000,
        onSpawn: (c) => {
          child = c
          c.stderr?.on("data", (d) => (output += d))
          c.stdout?.on("data", (d) => (output += d))
        }
      }
    )
    return { done, output: () => output, stop: () => child?.kill("SIGTERM") }
  })
  await waitFor("both instances up", () => instances.every((s) => s.output().includes("once per tick across instances")), 30_000)
  const started = Date.now()
  await sleep(5_000)
  for (const s of instances) s.stop()
  const results = await Promise.all(instances.map((s) => s.done))
  const seconds = (Date.now() - started) / 1000
  for (const r of results) expect(r.code, r.stderr.slice(-2000)).toBe(0)

  const history = runHistoryAt(TEST_REDIS_URL, { prefix: `${base}runs:` })
  const refreshes = (await history.list(200)).filter((r) => r.command === "refresh")
  await history.close()
  // once per tick: about `seconds` runs in all; once per instance would be about twice that
  expect(refreshes.length).toBeGreaterThanOrEqual(2)
  expect(refreshes.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2)
}, 90_000)
