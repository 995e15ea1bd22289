// serve's supervisor under TestClock: a crashing component is started over per its declared
// restart policy (delays, the restart log, the policy's hook), escalates once the policy gives up or
// on a failure the policy does not restart, and the escalation stops its siblings and fails with
// the component's own error. Also the relay's declared policy: Redis / Ogmios unreachable is
// started over forever with a capped backoff, anything else escalates at once.
import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { LiveState } from "../../src/observability/index.js"
import { ConnectionLost, RequestTimeout } from "../../src/ogmios/errors.js"
import { RelayFenced } from "../../src/relay/errors.js"
import { isUnreachable, relayRestart } from "../../src/serve/components.js"
import * as RestartPolicy from "../../src/serve/restart-policy.js"
import { component, supervise } from "../../src/serve/supervisor.js"
import { RedisError } from "../../src/services/Redis.js"
import { propertyRuns } from "../../src/testing/index.js"
import { collectLogs } from "../support/logs.js"

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { run: Schema.Number }) {
  override get message(): string {
    return `flaky run ${this.run}`
  }
}
class Broken extends Schema.TaggedError<Broken>()("Broken", { run: Schema.Number }) {}


const now = Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))

/**
 * A component whose n-th start fails with `script[n]` ("flaky" is restartable, "broken" is not) and
 * whose start past the script runs until interrupted; records when each start happened.
 */
const scripted = (script: ReadonlyArray<"flaky" | "broken">, times: number | undefined, starts: Ref.Ref<Array<number>>) =>
  component({
    name: "worker",
    run: Effect.gen(function*() {
      const at = yield* now
      const n = (yield* Ref.updateAndGet(starts, (xs) => [...xs, at])).length - 1
      const kind = script[n]
      if (kind === undefined) return yield* Effect.never
      return yield* (kind === "flaky" ? Effect.fail(new Flaky({ run: n })) : Effect.fail(new Broken({ run: n })))
    }),
    restart: RestartPolicy.backoff<Flaky | Broken>({ while: (e) => e._tag === "Flaky", base: "100 millis", cap: "1 second", times })
  })

/** A sibling that runs until interrupted and says so (`started` once it began). */
const sibling = (stopped: Ref.Ref<boolean>, started?: Ref.Ref<boolean>) =>
  component({
    name: "sibling",
    run: (started === undefined ? Effect.void : Ref.set(started, true)).pipe(
      Effect.andThen(Effect.never),
      Effect.onInterrupt(() => Ref.set(stopped, true))
    ),
    restart: RestartPolicy.never
  })

describe("serve's supervisor (TestClock)", () => {
  it.effect("a crashing component is started over after 100, 200, 400 ms, then escalates and stops its sibling", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const starts = yield* Ref.make<Array<number>>([])
      const stopped = yield* Ref.make(false)
      const fiber = yield* Effect.forkChild(
        supervise([scripted(["flaky", "flaky", "flaky", "flaky"], 3, starts), sibling(stopped)]).pipe(Effect.provide(logs.layer))
      )
      yield* TestClock.adjust("1 hour")
      const exit = yield* Fiber.await(fiber)
      // four starts: the first and three restarts; the fourth failure is one more than the policy allows
      expect(yield* Ref.get(starts)).toEqual([0, 100, 300, 700])
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toBeInstanceOf(Flaky)
      expect((error as Flaky).run).toBe(3)
      expect(yield* Ref.get(stopped)).toBe(true)
      expect(logs.lines.filter((l) => l.includes("starting over"))).toEqual([
        "Warn worker: flaky run 0; starting over in 100 ms",
        "Warn worker: flaky run 1; starting over in 200 ms",
        "Warn worker: flaky run 2; starting over in 400 ms"
      ])
      expect(logs.lines).toContain("Error worker failed and is not started over: stopping the other components")
    }))

  it.effect("a failure the policy does not restart escalates at once, unannounced as a restart", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const starts = yield* Ref.make<Array<number>>([])
      const stopped = yield* Ref.make(false)
      const fiber = yield* Effect.forkChild(
        supervise([sibling(stopped), scripted(["flaky", "broken", "flaky"], undefined, starts)]).pipe(Effect.provide(logs.layer))
      )
      yield* TestClock.adjust("1 hour")
      const exit = yield* Fiber.await(fiber)
      expect(yield* Ref.get(starts)).toEqual([0, 100])
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toBeInstanceOf(Broken)
      expect(yield* Ref.get(stopped)).toBe(true)
      expect(logs.lines.filter((l) => l.includes("starting over"))).toHaveLength(1)
    }))

  it.effect("interrupting the supervisor (SIGTERM) interrupts every component, restarting or not", () =>
    Effect.gen(function*() {
      const starts = yield* Ref.make<Array<number>>([])
      const stopped = yield* Ref.make(false)
      const fiber = yield* Effect.forkChild(supervise([scripted(["flaky", "flaky"], undefined, starts), sibling(stopped)]))
      yield* TestClock.adjust("150 millis") // the worker waits for its second restart
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(starts)).toEqual([0, 100])
      expect(yield* Ref.get(stopped)).toBe(true)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
    }))

  it("any script of failures: restarts while the failure is restartable and the policy allows, escalating with the first one that is not", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("flaky" as const, "broken" as const), { maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        async (script, times) => {
          // the first failure that escalates: not restartable, or one restart more than allowed
          const index = script.findIndex((kind, i) => kind === "broken" || (times !== undefined && i >= times))
          const result = await Effect.runPromise(
            Effect.gen(function*() {
              const starts = yield* Ref.make<Array<number>>([])
              const stopped = yield* Ref.make(false)
              const started = yield* Ref.make(false)
              const fiber = yield* Effect.forkChild(supervise([scripted(script, times, starts), sibling(stopped, started)]))
              yield* TestClock.adjust("1 hour")
              const exit = index === -1 ? undefined : yield* Fiber.await(fiber)
              if (exit === undefined) yield* Fiber.interrupt(fiber)
              return { starts: yield* Ref.get(starts), started: yield* Ref.get(started), stopped: yield* Ref.get(stopped), exit }
            }).pipe(Effect.provide(TestClock.layer()))
          )
          const expectedStarts = index === -1 ? script.length + 1 : index + 1
          // start k waits 100 · 2^(k-1) ms after the previous failure, at most 1 s
          const expectedTimes = Array.from({ length: expectedStarts }, (_, k) =>
            Array.from({ length: k }, (_, j) => Math.min(1000, 100 * 2 ** j)).reduce((a, b) => a + b, 0))
          expect(result.starts).toEqual(expectedTimes)
          // the sibling never outlives the supervisor (one that had not begun yet never runs)
          expect(result.stopped).toBe(result.started)
          if (index !== 0) expect(result.started).toBe(true)
          if (index !== -1) {
            const error = result.exit !== undefined && Exit.isFailure(result.exit) ? Cause.squash(result.exit.cause) : undefined
            expect((error as Flaky | Broken)._tag).toBe(script[index] === "broken" ? "Broken" : "Flaky")
            expect((error as Flaky | Broken).run).toBe(index)
          }
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })
})

describe("the relay's restart policy", () => {
  const redisDown = new RedisError({ operation: "connect", url: "redis://127.0.0.1:1/0", detail: "Redis at redis://127.0.0.1:1/0 could not be reached", cause: undefined })
  const ogmiosDown = new ConnectionLost({ message: "ws://127.0.0.1:1: could not connect: ECONNREFUSED", url: "ws://127.0.0.1:1", code: 1006, reason: "", opened: false })
  const silent = new RequestTimeout({ message: "no answer to nextBlock for 30 s", method: "nextBlock", timeoutMs: 30_000 })
  const fenced = new RelayFenced({ prefix: "hecate:test:", detail: "another relay took the prefix" })

  it("starts over only while Redis or Ogmios is unreachable", () => {
    expect([redisDown, ogmiosDown, silent, fenced].map(isUnreachable)).toEqual([true, true, true, false])
  })

  it.effect("Redis / Ogmios unreachable: started over after 250 ms doubling to at most 5 s, forever, /health told it is down; a fenced relay escalates", () =>
    Effect.gen(function*() {
      const logs = collectLogs()
      const failures = [redisDown, ogmiosDown, silent, redisDown, redisDown, redisDown, redisDown, ogmiosDown, redisDown, fenced]
      const starts = yield* Ref.make<Array<number>>([])
      const seenDown = yield* Ref.make<Array<string | undefined>>([])
      const live = new LiveState()
      const relay = component({
        name: "relay",
        run: Effect.gen(function*() {
          yield* Ref.update(seenDown, (xs) => [...xs, live.relay.connection])
          const n = (yield* Ref.updateAndGet(starts, (xs) => [...xs, 0])).length - 1
          return yield* Effect.fail(failures[n]!)
        }),
        restart: relayRestart<(typeof failures)[number]>(live)
      })
      live.relay.connection = "following"
      const startedAt = yield* now
      const fiber = yield* Effect.forkChild(supervise([relay]).pipe(Effect.provide(logs.layer)))
      yield* TestClock.adjust("1 hour")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined).toBe(fenced)
      expect((yield* Ref.get(starts)).length).toBe(failures.length)
      expect((yield* now) - startedAt).toBe(3_600_000)
      const delays = logs.lines.filter((l) => l.includes("starting over")).map((l) => Number(/in (\d+) ms$/.exec(l)![1]))
      expect(delays).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000])
      expect(logs.lines[0]).toBe(`Warn relay: ${redisDown.message}; starting over in 250 ms`)
      // every start after the first saw the relay marked down, with the last error for /health
      expect((yield* Ref.get(seenDown)).slice(1).every((c) => c === "down")).toBe(true)
      expect(live.relay.lastError).toBe(redisDown.message)
    }))
})
