// `node dist/main.js serve` as a service manager runs it (needs `npm run build`): a hecate.config.json,
// /health and /metrics, the refresh schedule, SIGTERM → clean stop with exit 0, a restart that
// continues the relay with no gap and no duplicate in Redis while the chain kept growing.
import { type ChildProcess } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis as IORedis } from "ioredis"
import { TEST_REDIS_URL, deleteByPrefix } from "../backfill/redis-helpers.js"
import { caughtUp, expectCanonical, newPrefix, sleep, waitFor } from "../relay/harness.js"
import { type CliResult, runCli } from "../support/cli.js"
import { expectedLastFinal, expectedRow, SHORT_EPOCHS, simulator, tempDir, textOf } from "../refresh/support.js"

interface Running {
  readonly child: () => ChildProcess
  readonly output: () => string
  readonly done: Promise<CliResult>
}

const startServe = (args: ReadonlyArray<string>, env: Record<string, string>): Running => {
  let child: ChildProcess | undefined
  let output = ""
  const done = runCli(["serve", ...args], {
    env,
    timeoutMs: 90_000,
    onSpawn: (c) => {
      child = c
      c.stdout?.on("data", (d) => (output += d))
      c.stderr?.on("data", (d) => (output += d))
    }
  })
  return { child: () => child!, output: () => output, done }
}

const httpPortOf = async (running: Running): Promise<number> => {
  let port = 0
  await waitFor("serve to listen", () => {
    const m = /serve: http:\/\/127\.0\.0\.1:(\d+)/.exec(running.output())
    if (m) port = Number(m[1])
    return port > 0
  }, 30_000)
  return port
}

describe("hecate serve", () => {
  it.live("config file + flags, /health and /metrics, SIGTERM exit 0, restart continues with no gap or duplicate", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ ...SHORT_EPOCHS, blockIntervalMs: 20 })
      const dir = yield* tempDir("hecate-serve-")
      const prefix = newPrefix()
      const client = new IORedis(TEST_REDIS_URL)
      yield* Effect.addFinalizer(() => Effect.promise(async () => {
        await deleteByPrefix(client, prefix)
        client.disconnect()
      }))
      const cache = join(dir, "cache.json")
      const config = join(dir, "hecate.config.json")
      // the file sets the endpoint, prefix, cache, HTTP and refresh; the env overrides the HTTP port
      yield* Effect.promise(() => writeFile(config, JSON.stringify({
        ogmios: { endpoints: [sim.url] },
        redis: { url: TEST_REDIS_URL },
        epochCache: cache,
        http: { host: "127.0.0.1", port: 1 },
        relay: { prefix },
        refresh: { interval: "500 millis", runOnStart: true }
      })))
      const env = { HECATE_ENV_FILE: "/dev/null", HECATE_CONFIG: config, HECATE_HTTP_PORT: "0" }
      const args = ["--relay-start", "origin"]

      // ---- first run
      const first = startServe(args, env)
      const port = yield* Effect.promise(() => httpPortOf(first))
      yield* Effect.promise(() => waitFor("the relay to write past the initial chain", async () => Number(await client.xlen(`${prefix}events`)) > 720, 30_000))
      // /health is 202 while the relay catches up, 200 once it follows the tip (docs/observability.md)
      yield* Effect.promise(() => waitFor("the relay to follow the tip (/health 200)", async () =>
        (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 30_000))
      const health = (yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json()))) as {
        status: string
        relay: { prefix: string; writes: number }
        refresh: { trigger: string; runs: number }
      }
      expect(health.status).toBe("ok")
      expect(health.relay.prefix).toBe(prefix)
      expect(health.relay.writes).toBeGreaterThan(0)
      expect(health.refresh.trigger).toBe("every 500ms")
      yield* Effect.promise(() => waitFor("a refresh run", async () => {
        const h = (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json())) as { refresh: { succeeded: number } }
        return h.refresh.succeeded >= 1
      }, 30_000))
      const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
      expect(metrics).toMatch(/hecate_refresh_runs_total \d+/)

      first.child().kill("SIGTERM")
      const stopped = yield* Effect.promise(() => first.done)
      expect(stopped.code, stopped.stderr).toBe(0)
      expect(stopped.stderr).toContain("serve: stopped on SIGTERM")
      const afterFirst = Number(yield* Effect.promise(() => client.xlen(`${prefix}events`)))

      // ---- the chain grows while serve is down
      yield* Effect.promise(() => sleep(500))

      // ---- second run: resumes from the cursor (--relay-start is ignored once a cursor exists)
      const second = startServe(args, env)
      yield* Effect.promise(() => httpPortOf(second))
      yield* Effect.promise(() => waitFor("the relay to resume", async () => Number(await client.xlen(`${prefix}events`)) > afterFirst + 20, 30_000))
      sim.live.stop()
      yield* Effect.promise(() => caughtUp(client, prefix, sim, 30_000))
      yield* Effect.promise(() => sleep(800)) // a last refresh run on the stopped chain
      second.child().kill("SIGTERM")
      const stopped2 = yield* Effect.promise(() => second.done)
      expect(stopped2.code, stopped2.stderr).toBe(0)
      expect(stopped2.stderr).toContain("resuming relay")

      // no gap, no duplicate: the events fold to exactly the simulator's chain from genesis
      yield* Effect.promise(() => expectCanonical(client, prefix, sim, 0))
      // and the refresh recorded the final epochs exactly as the chain has them
      const cached = JSON.parse(yield* textOf(cache)) as { networks: Record<string, Record<string, { blocks: number; boundary: { end_hash: string } }>> }
      const rows = Object.values(cached.networks)[0]!
      const lastFinal = expectedLastFinal(sim, 20)
      expect(Object.keys(rows).map(Number)).toEqual(Array.from({ length: lastFinal + 1 }, (_, e) => e))
      expect(rows[String(lastFinal)]!.boundary.end_hash).toBe(expectedRow(sim, lastFinal).endHash)
    }), 150_000)

  it.live("an invalid config file is refused with exit 2, naming the file and the key", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("hecate-serve-")
      const config = join(dir, "hecate.config.json")
      yield* Effect.promise(() => writeFile(config, JSON.stringify({ refresh: { cron: "0 0 * * *", intervall: "6 hours" } })))
      const result = yield* Effect.promise(() => runCli(["serve", "--config", config], { env: { HECATE_ENV_FILE: "/dev/null" }, timeoutMs: 30_000 }))
      expect(result.code).toBe(2)
      expect(result.stdout).toContain(`Serve stopped: the config file ${config} is invalid`)
      expect(result.stdout).toContain("intervall")
    }), 60_000)
})
