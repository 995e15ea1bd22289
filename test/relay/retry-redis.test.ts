// retryRedis under TestClock: Redis failures are retried forever after 50 ms doubling to 2 s, an
// outage is one WARN (the rest DEBUG) and one INFO when Redis answers again, a streak shared by
// several writes is logged once, and any other failure is not retried.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Ref, References } from "effect"
import { TestClock } from "effect/testing"
import { RelayFenced } from "../../src/relay/errors.js"
import { RedisStreak, retryRedis } from "../../src/relay/retry-redis.js"
import { RedisError } from "../../src/services/Redis.js"
import { collectLogs } from "../support/logs.js"

const down = new RedisError({ operation: "EVALSHA", url: "redis://127.0.0.1:1/0", detail: "Redis dropped the connection", cause: undefined })
/** The logs of `effect`, DEBUG lines included. */
const logged = (logs: ReturnType<typeof collectLogs>) => <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.provideService(References.MinimumLogLevel, "Debug"), Effect.provide(logs.layer))

const now = Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))

/** Fails with `failures[n]` on its n-th call, then succeeds with the number of calls; records when each call was made. */
const scripted = (failures: ReadonlyArray<RedisError | RelayFenced>, calls: Ref.Ref<Array<number>>) =>
  Effect.gen(function*() {
    const at = yield* now
    const n = (yield* Ref.updateAndGet(calls, (xs) => [...xs, at])).length - 1
    const failure = failures[n]
    return failure === undefined ? n + 1 : yield* Effect.fail(failure)
  })

describe("retryRedis (TestClock)", () => {
  it.effect("retries a Redis outage after 50, 100 … 2000 ms; one WARN, then DEBUG, then one INFO", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const calls = yield* Ref.make<Array<number>>([])
      const fiber = yield* Effect.forkChild(retryRedis(scripted(Array(9).fill(down), calls), "relay write 7").pipe(logged(logs)))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(10)
      const times = yield* Ref.get(calls)
      expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000, 2000])
      expect(logs.lines[0]).toBe(
        "Warn relay write 7 failed (Redis dropped the connection); retrying in 50 ms (attempt 1); further failures until Redis answers are logged at debug level"
      )
      expect(logs.lines.slice(1, 9)).toEqual(
        [100, 200, 400, 800, 1600, 2000, 2000, 2000].map((ms, i) => `Debug relay write 7 failed (Redis dropped the connection); retrying in ${ms} ms (attempt ${i + 2})`)
      )
      // the outage's length is wall-clock time (Date.now), not the test clock's
      expect(logs.lines.slice(9)).toEqual([expect.stringMatching(/^Info relay write 7 succeeded after 9 failed Redis attempt\(s\) over \d+\.\d s$/)])
    }))

  it.effect("writes that share a streak log the outage once; each counts its own attempts", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const streak = new RedisStreak()
      const a = yield* Ref.make<Array<number>>([])
      const b = yield* Ref.make<Array<number>>([])
      const fiber = yield* Effect.forkChild(
        Effect.all([
          retryRedis(scripted([down, down], a), "relay write 1", streak),
          retryRedis(scripted([down, down], b), "relay write 2", streak)
        ], { concurrency: "unbounded" }).pipe(logged(logs))
      )
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toEqual([3, 3])
      expect(logs.lines.filter((l) => l.startsWith("Warn"))).toHaveLength(1)
      expect(logs.lines.filter((l) => l.startsWith("Debug relay write 2")).map((l) => /attempt (\d+)/.exec(l)![1])).toEqual(["1", "2"])
      expect(logs.lines.filter((l) => l.startsWith("Info"))).toEqual([expect.stringMatching(/^Info relay write 1 succeeded after 4 failed Redis attempt\(s\)/)])
    }))

  it.effect("any other failure is not retried and reaches the caller unchanged", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const fenced = new RelayFenced({ prefix: "hecate:test:", detail: "token 3 > 2" })
      const calls = yield* Ref.make<Array<number>>([])
      const fiber = yield* Effect.forkChild(retryRedis(scripted([down, fenced, down], calls), "relay write 3").pipe(logged(logs)))
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined).toBe(fenced)
      expect((yield* Ref.get(calls)).length).toBe(2)
      expect(logs.lines).toHaveLength(1)
    }))
})
