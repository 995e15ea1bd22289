// The refresh schedule under TestClock: a year of daily cron runs in milliseconds, a failing run
// retried with backoff, logged and survived, overlapping ticks skipped, defects contained.
import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { makeRefreshScheduler } from "../../src/refresh/schedule.js"
import { collectLogs } from "../support/logs.js"

const iso = Effect.clockWith((c) => Effect.succeed(new Date(c.currentTimeMillisUnsafe()).toISOString()))

describe("refresh schedule (TestClock)", () => {
  it.effect("fires at 00:00 UTC every day for a year on the default cron", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:30Z"))
      const runs = yield* Ref.make<Array<string>>([])
      const job = Effect.flatMap(iso, (t) => Ref.update(runs, (xs) => [...xs, t]))
      const scheduler = yield* makeRefreshScheduler(job, { trigger: { _tag: "Cron", expression: "0 0 * * *" } })
      const fiber = yield* Effect.forkChild(scheduler.run)
      yield* TestClock.adjust("365 days")
      const seen = yield* Ref.get(runs)
      expect(seen.length).toBe(365)
      expect(seen[0]).toBe("2026-01-02T00:00:00.000Z")
      expect(seen.at(-1)).toBe("2027-01-01T00:00:00.000Z")
      expect(seen.every((t) => t.endsWith("T00:00:00.000Z"))).toBe(true)
      expect(new Set(seen.map((t) => t.slice(0, 10))).size).toBe(365)
      const status = yield* scheduler.status
      expect(status).toMatchObject({ runs: 365, succeeded: 365, failed: 0, skipped: 0, running: false })
      // the next tick: the cron's next midnight after the clock's now (2027-01-01T00:00:30Z)
      expect(status.nextRunAt).toBe("2027-01-02T00:00:00.000Z")
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("says when the next tick of a fixed interval is due", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00Z"))
      const scheduler = yield* makeRefreshScheduler(Effect.void, { trigger: { _tag: "Interval", every: "15 minutes" } })
      expect((yield* scheduler.status).nextRunAt).toBeUndefined() // the loop has not begun
      const fiber = yield* Effect.forkChild(scheduler.run)
      yield* TestClock.adjust("20 minutes")
      const status = yield* scheduler.status
      expect(status.runs).toBe(1)
      expect(status.nextRunAt).toBe("2026-05-01T10:30:00.000Z")
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a run failing every attempt is retried with backoff, logged, and the next day's run succeeds", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00Z"))
      const attempts = yield* Ref.make<Array<string>>([])
      // every attempt on 2026-03-02 fails; other days succeed
      const job = Effect.gen(function*() {
        const t = yield* iso
        yield* Ref.update(attempts, (xs) => [...xs, t])
        if (t.startsWith("2026-03-02")) return yield* Effect.fail(new Error("Ogmios unreachable (ECONNREFUSED)"))
        return t
      })
      const scheduler = yield* makeRefreshScheduler(job, {
        trigger: { _tag: "Cron", expression: "0 0 * * *" },
        retry: { times: 4, base: "10 seconds", cap: "1 minute", jitter: false },
        describe: (t) => `refreshed at ${String(t)}`
      })
      const fiber = yield* Effect.forkChild(scheduler.run.pipe(Effect.provide(logs.layer)))
      yield* TestClock.adjust("1 day")
      // the failing run: first attempt at 00:00:00, retries after 10, 20, 40, 60 (capped) seconds
      expect(yield* Ref.get(attempts)).toEqual([
        "2026-03-02T00:00:00.000Z",
        "2026-03-02T00:00:10.000Z",
        "2026-03-02T00:00:30.000Z",
        "2026-03-02T00:01:10.000Z",
        "2026-03-02T00:02:10.000Z"
      ])
      let status = yield* scheduler.status
      expect(status).toMatchObject({ runs: 1, succeeded: 0, failed: 1, failedAttempts: 5, running: false })
      expect(status.lastError).toContain("ECONNREFUSED")
      expect(logs.lines.filter((l) => l.startsWith("Warn refresh attempt failed")).length).toBe(5)
      expect(logs.lines.some((l) => l.startsWith("Error refresh failed after 5 attempts: Ogmios unreachable"))).toBe(true)
      // the service (the schedule's fiber) is still alive, and the next tick succeeds
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("2 days")
      status = yield* scheduler.status
      expect(status).toMatchObject({ runs: 3, succeeded: 2, failed: 1, lastError: undefined, lastResult: "refreshed at 2026-03-04T00:00:00.000Z" })
      expect(logs.lines).toContain("Info refreshed at 2026-03-03T00:00:00.000Z")
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a run that fails twice then succeeds counts as one success", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const n = yield* Ref.make(0)
      const job = Ref.updateAndGet(n, (x) => x + 1).pipe(Effect.flatMap((k) => (k <= 2 ? Effect.fail("flaky") : Effect.succeed(k))))
      const scheduler = yield* makeRefreshScheduler(job, { trigger: { _tag: "Interval", every: "1 hour" }, retry: { jitter: false } })
      const fiber = yield* Effect.forkChild(scheduler.run)
      yield* TestClock.adjust("1 hour")
      yield* TestClock.adjust("1 minute")
      expect(yield* Ref.get(n)).toBe(3)
      expect(yield* scheduler.status).toMatchObject({ runs: 1, succeeded: 1, failed: 0, failedAttempts: 2 })
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a defect (a thrown bug) is contained like a failure; the loop keeps ticking", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const n = yield* Ref.make(0)
      const job = Ref.updateAndGet(n, (x) => x + 1).pipe(
        Effect.flatMap((k) => (k === 1 ? Effect.die(new TypeError("null has no properties")) : Effect.succeed(k)))
      )
      const scheduler = yield* makeRefreshScheduler(job, { trigger: { _tag: "Interval", every: "10 minutes" }, retry: { times: 0 } })
      const fiber = yield* Effect.forkChild(scheduler.run)
      yield* TestClock.adjust("30 minutes")
      expect(yield* scheduler.status).toMatchObject({ runs: 3, succeeded: 2, failed: 1 })
      expect((yield* scheduler.status).lastResult).toBeUndefined()
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("overlapping ticks are skipped while a run is still going", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const starts = yield* Ref.make<Array<string>>([])
      // each run takes 150 s; ticks every 60 s
      const job = Effect.flatMap(iso, (t) => Ref.update(starts, (xs) => [...xs, t])).pipe(Effect.andThen(Effect.sleep("150 seconds")))
      const scheduler = yield* makeRefreshScheduler(job, { trigger: { _tag: "Interval", every: "1 minute" } })
      const fiber = yield* Effect.forkChild(scheduler.run)
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 minute")
      // runs start at 1m, 4m, 7m, 10m; the ticks at 2,3, 5,6, 8,9 minutes are skipped
      expect(yield* Ref.get(starts)).toEqual([
        "2026-01-01T00:01:00.000Z",
        "2026-01-01T00:04:00.000Z",
        "2026-01-01T00:07:00.000Z",
        "2026-01-01T00:10:00.000Z"
      ])
      expect(yield* scheduler.status).toMatchObject({ runs: 4, succeeded: 3, skipped: 6, running: true })
      yield* Fiber.interrupt(fiber)
      expect((yield* scheduler.status).running).toBe(false)
    }))

  it.effect("a bad cron expression fails with a typed CronParseError", () =>
    Effect.gen(function*() {
      const scheduler = yield* makeRefreshScheduler(Effect.void, { trigger: { _tag: "Cron", expression: "61 * * * *" } })
      const error = yield* Effect.flip(scheduler.run)
      assert.strictEqual(error._tag, "CronParseError")
    }))

  it("describes its trigger", () =>
    Effect.runPromise(Effect.gen(function*() {
      const a = yield* makeRefreshScheduler(Effect.void, { trigger: { _tag: "Interval", every: Duration.hours(6) } })
      expect((yield* a.status).trigger).toBe("every 6h")
    })))
})
