import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { make, RedisLive } from "../../src/layers/RedisLive.js"
import { Redis, redactUrl, RedisError } from "../../src/services/Redis.js"
import { TEST_REDIS_URL, testRedis } from "./redis-helpers.js"

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (!Exit.isFailure(exit)) return undefined
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  return f && "error" in f ? f.error : undefined
}

describe("Redis service (ioredis 6, real server)", () => {
  it.live("fails fast with a clear, password-free error when the server refuses the connection", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const err = errorOf(yield* Effect.exit(Effect.scoped(make({ url: Redacted.make("redis://:s3cr3t-pw@127.0.0.1:1/0") }))))
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(err).toBeInstanceOf(RedisError)
      const e = err as RedisError
      expect(e.operation).toBe("connect")
      expect(e.message).toBe("Redis at redis://:***@127.0.0.1:1/0 refused the connection (connect): start redis-server or set REDIS_URL")
      expect(JSON.stringify(e)).not.toContain("s3cr3t-pw")
      expect(String(e.cause)).not.toContain("s3cr3t-pw")
    }))

  it("redacts passwords in URLs", () => {
    expect(redactUrl("redis://user:pa%40ss@host:6380/2")).toBe("redis://user:***@host:6380/2")
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379")
    expect(redactUrl("::not a url::")).not.toContain("not a url")
  })

  it.live("use() maps a command error to a RedisError naming the operation", () =>
    Effect.gen(function*() {
      const { conn, prefix } = yield* testRedis
      yield* conn.use((c) => c.set(`${prefix}str`, "x"))
      const err = errorOf(yield* Effect.exit(conn.use((c) => c.lpush(`${prefix}str`, "y"), "LPUSH queue")))
      expect(err).toMatchObject({ _tag: "RedisError", operation: "LPUSH queue" })
      expect((err as Error).message).toContain("WRONGTYPE")
      expect((err as Error).message).toContain("LPUSH queue")
      const unnamed = errorOf(yield* Effect.exit(conn.use((c) => c.lpush(`${prefix}str`, "y"))))
      expect((unnamed as RedisError).operation).toBe("LPUSH")
    }))

  it.live("duplicate() opens its own connection and closes it with its scope; the layer quits on release", () =>
    Effect.gen(function*() {
      const { prefix } = yield* testRedis
      const name = `hecate-dup-${prefix.slice(12, 24)}`
      const countNamed = (r: Redis["Service"], n: string) =>
        Effect.map(r.use((c) => c.client("LIST") as Promise<string>), (list) => list.split("\n").filter((l) => l.includes(`name=${n} `)).length)
      yield* Effect.gen(function*() {
        const redis = yield* Redis
        const mainId = yield* redis.use((c) => c.client("ID") as Promise<number>)
        yield* Effect.scoped(Effect.gen(function*() {
          const dup = yield* redis.duplicate(name)
          const dupId = yield* dup.use((c) => c.client("ID") as Promise<number>)
          expect(dupId).not.toBe(mainId)
          expect(yield* countNamed(redis, name)).toBe(1)
        }))
        yield* Effect.sleep("50 millis")
        expect(yield* countNamed(redis, name)).toBe(0)
      }).pipe(Effect.provide(RedisLive.layer({ url: Redacted.make(TEST_REDIS_URL), connectionName: `${name}-main` })))
    }))
})
