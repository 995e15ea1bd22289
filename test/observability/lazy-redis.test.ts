/**
 * The probes' Redis (`RedisLive.lazy`) and what is built on it, against a private redis-server
 * that is down at the start, comes up, goes away and comes back:
 *
 * - the layer builds with Redis down, each use fails fast with a RedisError, a later use connects;
 * - /health (HealthChecker.layer over it, served by the observability server) answers 503 with a
 *   reason in one sentence ("Redis at … is unreachable: connect ECONNREFUSED …") while Redis is
 *   down, 200 once it is up, 503 again when it dies or stops answering, 200 when it is back;
 * - a run recorder over RunHistory.layer records its run once Redis is there.
 */
import { Context, Effect, Exit, Layer, Redacted, Result, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { observabilityServer } from "../../src/observability/http.js"
import { RunHistory, RunRecorder } from "../../src/observability/runs.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { Redis } from "../../src/services/Redis.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { newPrefix, waitFor } from "../relay/harness.js"
import { type PrivateRedis, startPrivateRedis } from "../relay/private-redis.js"
import { healthCheckerAt } from "../support/redis-services.js"

let redis: PrivateRedis
let sim: SimulatorHandle
beforeAll(async () => {
  redis = await startPrivateRedis()
  sim = await startSimulator({ port: 0, seed: "lazy-redis", securityParameter: 5, initialBlocks: 10, meanBlockBytes: 256 })
})
afterAll(async () => {
  await sim?.stop()
  await redis?.stop()
})

interface HealthBody {
  status: string
  reasons: Array<string>
  redis: { reachable: boolean; error?: string }
}

describe("RedisLive.lazy", () => {
  it("builds with Redis down, fails each use fast with a RedisError, and connects on a later use once Redis is up", async () => {
    await redis.kill()
    const scope = Effect.runSync(Scope.make())
    try {
      const context = await Effect.runPromise(Layer.buildWithScope(RedisLive.lazy({ url: Redacted.make(redis.url), timeoutMs: 2_000 }), scope))
      const conn = Context.get(context, Redis)
      const ping = Effect.result(conn.use((c) => c.ping(), "PING"))
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        const down = await Effect.runPromise(ping)
        expect(Date.now() - started).toBeLessThan(1_000) // refused at once: no queue, no retries
        expect(Result.isFailure(down)).toBe(true)
        if (Result.isFailure(down)) {
          expect(down.failure._tag).toBe("RedisError")
          expect(down.failure.message).toBe(`Redis at ${redis.url} refused the connection (PING): start redis-server or set REDIS_URL`)
        }
      }
      await redis.start()
      expect(await Effect.runPromise(ping)).toEqual(Result.succeed("PONG"))
      // gone again, then back: the next use after the failure reconnects
      await redis.kill()
      expect(Result.isFailure(await Effect.runPromise(ping))).toBe(true)
      await redis.start()
      expect(await Effect.runPromise(ping)).toEqual(Result.succeed("PONG"))
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 30_000)
})

describe("/health over the lazy Redis", () => {
  it("503 with a one-sentence reason while Redis is down at start, 200 once it is up, 503 when it dies or freezes, 200 when it is back", async () => {
    await redis.kill()
    const scope = Effect.runSync(Scope.make())
    const telemetry = Effect.runSync(Telemetry.make.pipe(Scope.provide(scope)))
    const health = healthCheckerAt({ redisUrl: redis.url, live: telemetry.live, endpoints: [sim.url], timeoutMs: 300 })
    try {
      const server = await Effect.runPromise(observabilityServer({ host: "127.0.0.1", port: 0, health }).pipe(Effect.provideService(Telemetry, telemetry), Scope.provide(scope)))
      const get = async () => {
        const r = await fetch(`${server.url}/health`)
        return { code: r.status, body: (await r.json()) as HealthBody }
      }
      const refused = `connect ECONNREFUSED 127.0.0.1:${redis.port}`

      const down = await get()
      expect(down.code).toBe(503)
      expect(down.body.status).toBe("unavailable")
      expect(down.body.redis).toEqual({ reachable: false, error: `Redis at ${redis.url} is unreachable: ${refused}` })
      expect(down.body.reasons).toEqual([`Redis unreachable (${redis.url}: ${refused})`])
      // asked again (the driver would say "Connection is already connecting" or "closed"): the same sentence
      await new Promise((r) => setTimeout(r, 300))
      expect((await get()).body.redis.error).toBe(`Redis at ${redis.url} is unreachable: ${refused}`)

      await redis.start()
      await waitFor("/health 200 once Redis is up", async () => (await get()).code === 200, 10_000)
      expect((await get()).body).toMatchObject({ status: "ok", reasons: [], redis: { reachable: true } })

      await redis.kill()
      await waitFor("/health 503 once Redis died", async () => (await get()).code === 503, 10_000)
      const died = (await get()).body
      expect(died.redis.reachable).toBe(false)
      expect(died.redis.error).toMatch(new RegExp(`^Redis at ${redis.url.replace(/[./]/g, "\\$&")} is unreachable: (${refused}|the connection closed)$`))

      await redis.start()
      await waitFor("/health 200 once Redis is back", async () => (await get()).code === 200, 10_000)

      // frozen: the connection stays open, nothing answers
      redis.freeze()
      try {
        await waitFor("/health 503 while Redis does not answer", async () => (await get()).code === 503, 10_000)
        expect((await get()).body.redis.error).toBe(`Redis at ${redis.url} is unreachable: no answer in time`)
      } finally {
        redis.thaw()
      }
      await waitFor("/health 200 once Redis answers again", async () => (await get()).code === 200, 10_000)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await health.close()
    }
  }, 60_000)
})

describe("the run recorder over RunHistory.layer", () => {
  it("records a run started while Redis was down once Redis is up, and its end", async () => {
    await redis.kill()
    const prefix = newPrefix()
    const scope = Effect.runSync(Scope.make())
    try {
      const layer = RunHistory.layer({ prefix }).pipe(Layer.provide(RedisLive.lazy({ url: Redacted.make(redis.url), timeoutMs: 500 })))
      const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
      const history = Context.get(context, RunHistory)
      const recorder = new RunRecorder(history, { command: "relay", prefix: "hecate-test:x:", parameters: { via: "test" } }, () => 7)
      recorder.start()
      await waitFor("a failed write", () => recorder.lastCause !== undefined, 5_000)
      expect(recorder.persisted).toBe(false)
      expect(recorder.lastCause!.message).toContain(`Redis at ${redis.url} refused the connection`)

      await redis.start()
      await waitFor("the run recorded", () => recorder.persisted, 10_000)
      const stored = await Effect.runPromise(history.get(recorder.id))
      expect(stored).toMatchObject({ id: recorder.id, command: "relay", state: "Running", blocks: 7, parameters: { via: "test" } })

      expect(await recorder.finish("Completed")).toBe(true)
      expect(await Effect.runPromise(history.get(recorder.id))).toMatchObject({ state: "Completed", blocks: 7 })
      expect((await Effect.runPromise(history.list(10))).map((r) => r.id)).toEqual([recorder.id])
    } finally {
      const keys = await redis.client.keys(`${prefix}*`)
      if (keys.length > 0) await redis.client.del(...keys)
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 30_000)
})
