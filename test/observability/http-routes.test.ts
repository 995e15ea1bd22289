/**
 * The observability server's HTTP surface: the routes, their status codes and content types, the
 * 405 / 404 answers, and the message of a port already taken (the user's to fix). In-process
 * server over the test Redis, no Ogmios.
 */
import { Effect, Exit, Result, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { healthCheckerAt } from "../support/redis-services.js"
import { observabilityServer } from "../../src/observability/http.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { freePort } from "../support/free-port.js"

describe("observability HTTP routes", () => {
  it("serves the dashboard, /health, /metrics, /api/state; 405 for other methods, 404 for other paths", async () => {
    const scope = Effect.runSync(Scope.make())
    const telemetry = Effect.runSync(Telemetry.make.pipe(Scope.provide(scope)))
    const health = healthCheckerAt({ redisUrl: TEST_REDIS_URL, live: telemetry.live, endpoints: [`ws://127.0.0.1:${await freePort()}`], timeoutMs: 300 })
    try {
      const server = await Effect.runPromise(observabilityServer({ host: "127.0.0.1", port: 0, health }).pipe(Effect.provideService(Telemetry, telemetry), Scope.provide(scope)))
      const page = await fetch(`${server.url}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(page.headers.get("cache-control")).toBe("no-store")
      expect(await page.text()).toContain("<html")

      const h = await fetch(`${server.url}/health`)
      expect(h.status).toBe(503) // no Ogmios answers
      expect(h.headers.get("content-type")).toBe("application/json")
      expect(((await h.json()) as { status: string }).status).toBe("unavailable")

      const head = await fetch(`${server.url}/health`, { method: "HEAD" })
      expect(head.status).toBe(503)
      expect(await head.text()).toBe("")

      const metrics = await fetch(`${server.url}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4")
      expect(await metrics.text()).toContain("hecate_blocks_per_second")

      const state = await fetch(`${server.url}/api/state?x=1`)
      expect(state.status).toBe(200)
      expect(state.headers.get("content-type")).toBe("application/json")
      expect(Object.keys((await state.json()) as object)).toEqual(expect.arrayContaining(["health", "throughput", "epochs", "relay"]))

      const run = await fetch(`${server.url}/api/run?id=nope`)
      expect(run.status).toBe(404) // no run history given: no run to show
      expect(await run.text()).toBe("no run nope\n")

      const post = await fetch(`${server.url}/health`, { method: "POST" })
      expect(post.status).toBe(405)
      expect(post.headers.get("allow")).toBe("GET")
      expect(await post.text()).toBe("method not allowed\n")

      const missing = await fetch(`${server.url}/nothing/here`)
      expect(missing.status).toBe(404)
      expect(missing.headers.get("content-type")).toBe("text/plain")
      expect(await missing.text()).toBe("not found: GET / (dashboard), /health, /metrics, /api/state, /api/run?id=\n")
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await health.close()
    }
  }, 30_000)

  it("a port in use is an InvalidConfiguration naming the address, the code and what to do", async () => {
    const scope = Effect.runSync(Scope.make())
    const telemetry = Effect.runSync(Telemetry.make.pipe(Scope.provide(scope)))
    const health = healthCheckerAt({ redisUrl: TEST_REDIS_URL, live: telemetry.live, endpoints: [], timeoutMs: 300 })
    try {
      const first = await Effect.runPromise(observabilityServer({ host: "127.0.0.1", port: 0, health }).pipe(Effect.provideService(Telemetry, telemetry), Scope.provide(scope)))
      const second = await Effect.runPromise(
        Effect.scoped(Effect.result(observabilityServer({ host: "127.0.0.1", port: first.port, health, portVariable: "--http-port" }))).pipe(
          Effect.provideService(Telemetry, telemetry)
        )
      )
      expect(Result.isFailure(second)).toBe(true)
      if (Result.isFailure(second)) {
        expect(second.failure._tag).toBe("InvalidConfiguration")
        expect(second.failure.message).toContain(`cannot listen on 127.0.0.1:${first.port} (EADDRINUSE) — choose another --http-port / --http-host`)
      }
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await health.close()
    }
  }, 30_000)
})
