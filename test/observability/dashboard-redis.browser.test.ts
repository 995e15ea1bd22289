// The dashboard's Redis card, relay card and groups panel when Redis misbehaves, in a real headless
// Chromium: a Redis out of memory (it answers PING, refuses the relay's writes) is not a green "up"
// but "up, writes failing" with the error; a Redis that is gone leaves the consumer groups and the
// relay's lag "unknown (Redis unreachable)", never "none registered" or "lag 0". The server runs
// in-process over a private redis-server (real OOM replies, a real outage).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Redacted, Result, Scope } from "effect"
import { type BrowserContext, chromium } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"
import { makeConnection } from "../../src/layers/RedisLive.js"
import { healthCheckerAt } from "../support/redis-services.js"
import { observabilityServer } from "../../src/observability/http.js"
import { wrapRelayStore } from "../../src/observability/instrument.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { makeRelayStore, restartOp } from "../../src/relay/RelayStore.js"
import { newPrefix } from "../relay/harness.js"
import { startPrivateRedis } from "../relay/private-redis.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))
let context: BrowserContext | undefined
const profileDir = mkdtempSync(join(tmpdir(), "hecate-dash-redis-"))
afterAll(async () => {
  await context?.close()
  rmSync(profileDir, { recursive: true, force: true })
})

describe("dashboard: Redis out of memory, then gone", () => {
  it("shows the last write error instead of a green up, then unknown groups and lag instead of none / 0", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`)
    const redis = await startPrivateRedis()
    const scope = Effect.runSync(Scope.make())
    try {
      const prefix = newPrefix()
      const telemetry = Effect.runSync(Telemetry.make.pipe(Scope.provide(scope)))
      const conn = await Effect.runPromise(makeConnection({ url: Redacted.make(redis.url), connectionName: "hecate-test-oom" }).pipe(Scope.provide(scope)))
      const store = wrapRelayStore(makeRelayStore(conn, { prefix, retain: 0 }), telemetry.live)
      const cursor = await Effect.runPromise(store.init({ start: "origin", height: null, depth: 3, format: "ogmios" }))
      const health = healthCheckerAt({ redisUrl: redis.url, live: telemetry.live, endpoints: [], relayPrefix: prefix, timeoutMs: 500 })
      const server = await Effect.runPromise(observabilityServer({ host: "127.0.0.1", port: 0, health }).pipe(Effect.provideService(Telemetry, telemetry), Scope.provide(scope)))

      // out of memory: Redis answers, the relay's write is refused
      await redis.client.config("SET", "maxmemory-policy", "noeviction")
      await redis.client.config("SET", "maxmemory", "1")
      const refused = await Effect.runPromise(Effect.result(store.write(cursor.seq + 1, cursor.producer, [restartOp("origin")], undefined)))
      expect(Result.isFailure(refused)).toBe(true)

      context ??= await chromium.launchPersistentContext(join(profileDir, "chromium-profile"), {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1366, height: 860 },
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
      })
      const page = await context.newPage()
      await page.goto(server.url)
      await page.waitForFunction(`document.getElementById("redis").textContent === "up, writes failing"`, undefined, { timeout: 20_000, polling: 200 })
      expect(await page.getAttribute("#redis", "class")).toContain("bad")
      expect(await page.textContent("#redis-sub")).toMatch(/last write error \d\d:\d\d:\d\d: Redis at .* is out of memory: it refuses writes/)
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, "dashboard-redis-oom.png"), fullPage: true })

      // gone: nothing about the groups or the lag is known
      await redis.kill()
      await page.waitForFunction(`document.getElementById("redis").textContent === "down"`, undefined, { timeout: 20_000, polling: 200 })
      await page.waitForFunction(`document.getElementById("groups").textContent.includes("unknown (Redis unreachable)")`, undefined, { timeout: 10_000, polling: 200 })
      expect(await page.textContent("#groups")).not.toContain("no consumer group registered")
      expect(await page.textContent("#relay-sub")).toContain("consumer lag unknown (Redis unreachable)")
      expect(await page.textContent("#relay-sub")).not.toContain("consumer lag 0")
      await page.screenshot({ path: join(artifacts, "dashboard-redis-down.png"), fullPage: true })
      await health.close()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await redis.stop()
    }
  }, 90_000)
})
