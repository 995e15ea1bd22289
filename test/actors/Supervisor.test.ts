import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schedule, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Actor, ActorStopped, Supervisor, SupervisorEscalated } from "../../src/actors/index.js"

type Msg =
  | { readonly _tag: "Inc" }
  | { readonly _tag: "Crash" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Get"; readonly reply: Actor.Reply<number> }

const inc: Msg = { _tag: "Inc" }
const crash: Msg = { _tag: "Crash" }
const get = (reply: Actor.Reply<number>): Msg => ({ _tag: "Get", reply })

/** A counter child that records its finalizer (onStop) and interruption of in-flight work in `events`. */
const counter = (name: string, events: Array<string>): Actor.ActorOptions<number, Msg> => ({
  name,
  initial: 0,
  capacity: 8,
  supervision: { restart: Schedule.spaced("10 millis"), maxRestarts: 1 },
  behavior: (n, msg) => {
    switch (msg._tag) {
      case "Inc":
        return Effect.succeed(n + 1)
      case "Crash":
        return Effect.die(`${name} crashed`)
      case "Hang":
        return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => events.push(`${name} interrupted`))))
      case "Get":
        return Actor.reply(msg.reply, n).pipe(Effect.as(n))
    }
  },
  onStop: (n) => Effect.sync(() => events.push(`${name} stopped at ${n}`))
})

const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("Supervisor", () => {
  it.effect("stopping the supervisor stops every child: in-flight work is interrupted, finalizers run", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const sup = yield* Supervisor.make<number, Msg>({ name: "epochs" })
      const a = yield* sup.spawn(1, counter("epoch-1", events))
      const b = yield* sup.spawn(2, counter("epoch-2", events))
      yield* a.tell(inc)
      yield* b.tell(inc)
      yield* b.tell(inc)
      yield* b.tell({ _tag: "Hang" })
      yield* settle
      assert.strictEqual(yield* sup.size, 2)
      yield* sup.stop
      assert.sameMembers(events, ["epoch-1 stopped at 1", "epoch-2 interrupted", "epoch-2 stopped at 2"])
      assert.strictEqual(yield* a.status, "stopped")
      assert.strictEqual(yield* b.status, "stopped")
      assert.strictEqual(yield* sup.status, "stopped")
      assert.strictEqual(yield* sup.size, 0)
      yield* sup.awaitTermination
      assert.instanceOf(yield* Effect.flip(sup.spawn(3, counter("epoch-3", events))), ActorStopped)
    }))

  it.effect("closing the scope that owns the supervisor stops its children", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const scope = yield* Scope.make()
      const sup = yield* Supervisor.make<string, Msg>({ name: "relay" }).pipe(Scope.provide(scope))
      const child = yield* sup.spawn("conn", counter("conn", events))
      yield* child.tell(inc)
      yield* settle
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(events, ["conn stopped at 1"])
      assert.strictEqual(yield* sup.status, "stopped")
      assert.instanceOf(yield* Effect.flip(child.tell(inc)), ActorStopped)
    }))

  it.effect("keyed children: onlyIfMissing returns the running child, otherwise it is replaced", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const sup = yield* Supervisor.make<number, Msg>({ name: "epochs" })
      const first = yield* sup.spawn(500, counter("epoch-500", events))
      yield* first.tell(inc)
      const again = yield* sup.spawn(500, counter("epoch-500-bis", events), { onlyIfMissing: true })
      assert.strictEqual(again, first)
      assert.strictEqual(yield* again.ask(get), 1)

      const replacement = yield* sup.spawn(500, counter("epoch-500-new", events))
      assert.notStrictEqual(replacement, first)
      assert.deepStrictEqual(events, ["epoch-500 stopped at 1"])
      assert.instanceOf(yield* Effect.flip(first.tell(inc)), ActorStopped)
      assert.strictEqual(yield* replacement.ask(get), 0)
      const current = yield* sup.get(500)
      assert.isTrue(Option.isSome(current) && current.value === replacement)
      assert.deepStrictEqual(yield* sup.keys, [500])

      yield* sup.stopChild(500)
      assert.strictEqual(yield* sup.size, 0)
      assert.isTrue(Option.isNone(yield* sup.get(500)))
      yield* sup.stopChild(501) // unknown key: no-op
    }))

  it.effect("a child's escalation reaches the supervisor, which restarts it from its initial state", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const sup = yield* Supervisor.make<string, Msg>({
        name: "sup",
        strategy: { restart: Schedule.spaced("1 second"), maxRestarts: 1 }
      })
      const child = yield* sup.spawn("worker", counter("worker", events))
      yield* child.tell(inc)
      yield* child.tell(inc)
      // maxRestarts 1 on the child: the 2nd crash in a row escalates
      yield* child.tell(crash)
      yield* child.tell(crash)
      yield* TestClock.adjust("10 millis")
      assert.strictEqual(yield* child.status, "restarting")
      assert.strictEqual(yield* sup.restarts, 0)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* sup.restarts, 1)
      // same ref, same mailbox; state restarted from `initial`
      assert.strictEqual(yield* child.status, "running")
      assert.strictEqual(yield* child.ask(get), 0)
      assert.strictEqual(yield* child.restarts, 2)
      assert.strictEqual(yield* sup.status, "running")
      assert.deepStrictEqual(events, [])
    }))

  it.effect("past its own limit the supervisor fails itself: children stop, awaitTermination fails", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const sup = yield* Supervisor.make<string, Msg>({
        name: "sup",
        strategy: { restart: Schedule.spaced("1 second"), maxRestarts: 1 }
      })
      const bystander = yield* sup.spawn("bystander", counter("bystander", events))
      const child = yield* sup.spawn("worker", counter("worker", events))
      const watcher = yield* Effect.forkChild(Effect.flip(sup.awaitTermination))
      yield* bystander.tell(inc)
      for (let i = 0; i < 4; i++) yield* child.tell(crash)
      yield* TestClock.adjust("10 millis") // child escalation #1 -> supervisor restarts it after 1 s
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("10 millis") // child escalation #2 -> supervisor gives up
      const error = yield* Fiber.join(watcher)
      assert.instanceOf(error, SupervisorEscalated)
      assert.strictEqual(error.supervisor, "sup")
      assert.strictEqual(error.child, "worker")
      assert.strictEqual(error.restarts, 1)
      assert.include(error.cause.reason, "worker crashed")
      yield* settle
      assert.strictEqual(yield* sup.status, "failed")
      assert.strictEqual(yield* child.status, "failed")
      assert.strictEqual(yield* bystander.status, "stopped")
      assert.sameMembers(events, ["bystander stopped at 1", "worker stopped at 0"])
      assert.strictEqual(yield* sup.size, 0)
    }))

  it.effect("maxRestarts 0: the first escalation fails the supervisor", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make<string, Msg>({
        name: "strict",
        strategy: { restart: Schedule.forever, maxRestarts: 0 }
      })
      const child = yield* sup.spawn("w", counter("w", []))
      yield* child.tell(crash)
      yield* child.tell(crash)
      yield* TestClock.adjust("10 millis")
      const error = yield* Effect.flip(sup.awaitTermination)
      assert.strictEqual(error.restarts, 0)
    }))
})
