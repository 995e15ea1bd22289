import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Actor, ActorCrashed, ActorEscalated, ActorStopped } from "../../src/actors/index.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", { n: Schema.Number }) {}

type Msg =
  | { readonly _tag: "Add"; readonly n: number }
  | { readonly _tag: "Fail" }
  | { readonly _tag: "Throw" }
  | { readonly _tag: "Slow"; readonly n: number }
  | { readonly _tag: "Get"; readonly reply: Actor.Reply<ReadonlyArray<number>> }

const add = (n: number): Msg => ({ _tag: "Add", n })
const get = (reply: Actor.Reply<ReadonlyArray<number>>): Msg => ({ _tag: "Get", reply })

/** A log of the numbers it received; fails / throws / sleeps on request. */
const behavior = (state: ReadonlyArray<number>, msg: Msg): Effect.Effect<ReadonlyArray<number>, Boom> => {
  switch (msg._tag) {
    case "Add":
      return Effect.succeed([...state, msg.n])
    case "Fail":
      return Effect.fail(new Boom({ n: state.length }))
    case "Throw":
      throw new Error("thrown by the behaviour")
    case "Slow":
      return Effect.sleep("1 second").pipe(Effect.as([...state, msg.n]))
    case "Get":
      return Actor.reply(msg.reply, state).pipe(Effect.as(state))
  }
}

const restartEvery100ms = { restart: Schedule.spaced("100 millis"), maxRestarts: 2 }

/** Let forked fibers run without advancing the test clock. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("Actor", () => {
  it.effect("handles messages in arrival order and answers asks", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({ name: "log", initial: [] as ReadonlyArray<number>, capacity: 4, behavior })
      for (let i = 1; i <= 10; i++) yield* ref.tell(add(i))
      const seen = yield* ref.ask(get)
      assert.deepStrictEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      assert.strictEqual(yield* ref.restarts, 0)
      assert.strictEqual(yield* ref.status, "running")
    }))

  it.effect("restarts after a typed failure and after a throw, keeping the last good state, per the Schedule", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({
        name: "crashy",
        initial: [] as ReadonlyArray<number>,
        capacity: 8,
        behavior,
        supervision: restartEvery100ms
      })
      yield* ref.tell(add(1))
      yield* ref.tell({ _tag: "Fail" })
      yield* settle
      // crashed, waiting for the Schedule's 100 ms before resuming
      assert.strictEqual(yield* ref.status, "restarting")
      yield* ref.tell(add(2))
      yield* TestClock.adjust("99 millis")
      assert.strictEqual(yield* ref.status, "restarting")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* ref.status, "running")
      assert.strictEqual(yield* ref.restarts, 1)

      yield* ref.tell({ _tag: "Throw" })
      yield* ref.tell(add(3))
      yield* TestClock.adjust("100 millis")
      const seen = yield* ref.ask(get)
      // failing messages are dropped, everything else is kept in order
      assert.deepStrictEqual(seen, [1, 2, 3])
      assert.strictEqual(yield* ref.restarts, 2)
    }))

  it.effect("a successful message resets the consecutive-crash count", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({
        name: "intermittent",
        initial: [] as ReadonlyArray<number>,
        capacity: 16,
        behavior,
        supervision: { restart: Schedule.spaced("10 millis"), maxRestarts: 1 }
      })
      // crash, ok, crash, ok, crash: never two in a row, so never escalates
      for (let i = 0; i < 3; i++) {
        yield* ref.tell({ _tag: "Fail" })
        yield* ref.tell(add(i))
      }
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* ref.ask(get), [0, 1, 2])
      assert.strictEqual(yield* ref.restarts, 3)
      assert.strictEqual(yield* ref.status, "running")
    }))

  it.effect("onRestart chooses the state to resume with", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({
        name: "resetting",
        initial: [] as ReadonlyArray<number>,
        capacity: 8,
        behavior,
        supervision: restartEvery100ms,
        onRestart: (lastGood, failure) => Effect.succeed([-lastGood.length, failure.consecutive])
      })
      yield* ref.tell(add(7))
      yield* ref.tell(add(8))
      yield* ref.tell({ _tag: "Fail" })
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* ref.ask(get), [-2, 1])
    }))

  it.effect("an ask whose message crashes the behaviour fails with ActorCrashed", () =>
    Effect.gen(function*() {
      type AskMsg = { readonly reply: Actor.Reply<number>; readonly n: number }
      const ref = yield* Actor.spawn({
        name: "divider",
        initial: 0,
        capacity: 2,
        supervision: restartEvery100ms,
        behavior: (s: number, msg: AskMsg) =>
          msg.n === 0
            ? Effect.die("division by zero")
            : Actor.reply(msg.reply, 100 / msg.n).pipe(Effect.as(s + 1))
      })
      assert.strictEqual(yield* ref.ask<number>((reply) => ({ reply, n: 4 })), 25)
      const crashed = yield* Effect.flip(ref.ask<number>((reply) => ({ reply, n: 0 })))
      assert.instanceOf(crashed, ActorCrashed)
      assert.include(crashed.reason, "division by zero")
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* ref.ask<number>((reply) => ({ reply, n: 5 })), 20)
    }))

  it.effect("escalates after maxRestarts crashes in a row: awaitTermination fails, later tells fail", () =>
    Effect.gen(function*() {
      const stops: Array<string> = []
      const ref = yield* Actor.spawn({
        name: "doomed",
        initial: [] as ReadonlyArray<number>,
        capacity: 8,
        behavior,
        supervision: restartEvery100ms,
        onStop: (state, exit) => Effect.sync(() => stops.push(`${state.length}:${Exit.isFailure(exit) ? "failed" : "ok"}`))
      })
      const watcher = yield* Effect.forkChild(Effect.exit(ref.awaitTermination))
      yield* ref.tell(add(1))
      for (let i = 0; i < 3; i++) yield* ref.tell({ _tag: "Fail" })
      yield* TestClock.adjust("100 millis")
      yield* TestClock.adjust("100 millis")
      const exit = yield* Fiber.join(watcher)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(ref.awaitTermination)
      assert.instanceOf(error, ActorEscalated)
      assert.strictEqual(error.actor, "doomed")
      assert.strictEqual(error.restarts, 2)
      assert.include(error.reason, "Boom")
      assert.strictEqual(yield* ref.status, "failed")
      assert.deepStrictEqual(stops, ["1:failed"])
      assert.instanceOf(yield* Effect.flip(ref.tell(add(2))), ActorStopped)
      assert.instanceOf(yield* Effect.flip(ref.ask(get)), ActorStopped)
    }))

  it.effect("escalates when the restart Schedule ends, before maxRestarts", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({
        name: "short-schedule",
        initial: [] as ReadonlyArray<number>,
        capacity: 8,
        behavior,
        supervision: { restart: Schedule.recurs(1), maxRestarts: 100 }
      })
      yield* ref.tell({ _tag: "Fail" })
      yield* ref.tell({ _tag: "Fail" })
      const error = yield* Effect.flip(ref.awaitTermination)
      assert.strictEqual(error.restarts, 1)
    }))

  it.effect("a full mailbox makes tell wait (capacity 2, 1 s per message)", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({ name: "slow", initial: [] as ReadonlyArray<number>, capacity: 2, behavior })
      let sent = 0
      const sender = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 1; i <= 6; i++) {
          yield* ref.tell({ _tag: "Slow", n: i })
          sent++
        }
      }))
      yield* settle
      // one message being handled + two queued; the 4th tell is suspended
      assert.strictEqual(sent, 3)
      assert.strictEqual(yield* ref.queued, 2)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(sent, 4)
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.strictEqual(sent, 6)
      yield* Fiber.join(sender)
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* ref.ask(get), [1, 2, 3, 4, 5, 6])
    }))

  it.live("backpressure in real time: the sender is held back to the handler's pace", () =>
    Effect.gen(function*() {
      const ref = yield* Actor.spawn({
        name: "real-time",
        initial: 0,
        capacity: 2,
        behavior: (n: number, _: string) => Effect.sleep("25 millis").pipe(Effect.as(n + 1))
      })
      const start = Date.now()
      // 1 in the handler + 2 queued are free; each of the other 5 waits for a 25 ms slot
      for (let i = 0; i < 8; i++) yield* ref.tell("work")
      const elapsed = Date.now() - start
      assert.isAtLeast(elapsed, 5 * 25 - 10)
      assert.isAtMost(elapsed, 2_000)
    }))

  it.effect("stop interrupts the message in progress, runs onStop, fails waiting asks and later tells", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const ref = yield* Actor.spawn({
        name: "stoppable",
        initial: [] as ReadonlyArray<number>,
        capacity: 4,
        behavior: (s: ReadonlyArray<number>, m: Msg) =>
          behavior(s, m).pipe(Effect.onInterrupt(() => Effect.sync(() => events.push("interrupted")))),
        onStop: (state, exit) => Effect.sync(() => events.push(`onStop ${state.length} ${Exit.isSuccess(exit)}`))
      })
      yield* ref.tell(add(1))
      yield* ref.tell({ _tag: "Slow", n: 2 })
      const pendingAsk = yield* Effect.forkChild(Effect.flip(ref.ask(get)))
      yield* settle
      yield* ref.stop
      assert.deepStrictEqual(events, ["interrupted", "onStop 1 true"])
      assert.instanceOf(yield* Fiber.join(pendingAsk), ActorStopped)
      assert.strictEqual(yield* ref.status, "stopped")
      assert.instanceOf(yield* Effect.flip(ref.tell(add(3))), ActorStopped)
      yield* ref.awaitTermination
      yield* ref.stop // idempotent
    }))

  it.effect("a behaviour can stop its own actor", () =>
    Effect.gen(function*() {
      let self: Actor.ActorRef<string> | undefined
      const ref = yield* Actor.spawn({
        name: "self-stopping",
        initial: 0,
        capacity: 1,
        behavior: (s: number, m: string) => m === "quit" && self ? self.stop.pipe(Effect.as(s)) : Effect.succeed(s + 1)
      })
      self = ref
      yield* ref.tell("quit")
      yield* ref.awaitTermination
      assert.strictEqual(yield* ref.status, "stopped")
    }))

  it.effect("closing the enclosing scope stops the actor", () =>
    Effect.gen(function*() {
      const stopped: Array<string> = []
      const ref = yield* Effect.scoped(Actor.spawn({
        name: "scoped",
        initial: 0,
        capacity: 1,
        behavior: (s: number, _: string) => Effect.succeed(s + 1),
        onStop: (s) => Effect.sync(() => stopped.push(`stopped at ${s}`))
      }).pipe(Effect.tap((r) => r.tell("x")), Effect.tap(() => settle)))
      assert.deepStrictEqual(stopped, ["stopped at 1"])
      assert.strictEqual(yield* ref.status, "stopped")
    }))
})
