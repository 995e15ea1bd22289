/**
 * The actor primitive: a fiber that owns a piece of state and handles messages one at a time
 * from a bounded mailbox.
 *
 * - mailbox: `Queue.bounded(capacity)`; `tell` suspends while it is full (backpressure on the sender)
 * - behaviour: `(state, msg) => Effect<state>`; messages are handled strictly in arrival order
 * - ask: request/response through a `Deferred` carried by the message (`Reply<A>`)
 * - supervision: a crash (typed failure, defect or synchronous throw) drops the failing message,
 *   keeps the last good state (or `onRestart`'s result), waits per the restart `Schedule` and
 *   resumes. More than `maxRestarts` crashes in a row (or the Schedule ending) escalate: the
 *   actor hands an `ActorEscalated` to its parent (a `Supervisor`) or, standalone, terminates
 *   and `awaitTermination` fails with it.
 * - lifetime: the actor lives in a child of the caller's `Scope`; closing that scope (or `stop`)
 *   interrupts it, runs `onStop`, discards the queued messages and fails waiting asks.
 *
 * See docs/actors.md.
 */
import { Cause, Deferred, Effect, Exit, Fiber, Option, Pull, Queue, Ref, Schedule, Scope } from "effect"
import { ActorCrashed, ActorEscalated, ActorStopped, type AskError } from "./errors.js"

export { ActorCrashed, ActorEscalated, ActorStopped, type AskError } from "./errors.js"

/** The reply channel of an `ask`: complete it with `Deferred.succeed(reply, value)` (or `Actor.reply`). */
export type Reply<A> = Deferred.Deferred<A, AskError>

/** `running`: handling or waiting for messages; `restarting`: backing off after a crash;
 * `stopped`: stopped or its scope closed; `failed`: escalated. */
export type ActorStatus = "running" | "restarting" | "stopped" | "failed"

/** One crash of the behaviour, as seen by the restart Schedule and `onRestart`. */
export interface ActorFailure<E> {
  readonly actor: string
  readonly cause: Cause.Cause<E>
  /** crashes in a row, this one included (reset by a successfully handled message) */
  readonly consecutive: number
}

export interface Supervision<E> {
  /** delay before each restart; when the Schedule ends the actor escalates */
  readonly restart: Schedule.Schedule<unknown, ActorFailure<E>>
  /** restarts allowed in a row; crash number `maxRestarts + 1` (without a success in between) escalates */
  readonly maxRestarts: number
}

export interface ActorOptions<S, M, E = never, R = never> {
  readonly name: string
  readonly initial: S
  /** mailbox size (>= 1); `tell` suspends while this many messages are queued */
  readonly capacity: number
  readonly behavior: (state: S, msg: M) => Effect.Effect<S, E, R>
  /** default: exponential backoff from 10 ms capped at 1 s, `maxRestarts` 10 */
  readonly supervision?: Supervision<E> | undefined
  /** state to resume with after a crash; default: the last good state (the one the failing message saw) */
  readonly onRestart?: ((lastGood: S, failure: ActorFailure<E>) => Effect.Effect<S, never, R>) | undefined
  /** runs once when the actor terminates (stop, scope close, escalation), with its last state */
  readonly onStop?: ((state: S, exit: Exit.Exit<void, ActorEscalated>) => Effect.Effect<void, never, R>) | undefined
}

export interface ActorRef<M> {
  readonly name: string
  /** enqueue; suspends while the mailbox is full. Fails with `ActorStopped` once the actor has terminated. */
  readonly tell: (msg: M) => Effect.Effect<void, ActorStopped>
  /**
   * Request/response: `f` builds the message around a fresh `Reply`, which the behaviour completes.
   * Fails with `ActorCrashed` if the behaviour crashes on that message, `ActorStopped` if the
   * actor terminates before replying.
   */
  readonly ask: <A>(f: (reply: Reply<A>) => M) => Effect.Effect<A, AskError>
  /** stop the actor (interrupting the message in progress) and wait until it has terminated; idempotent */
  readonly stop: Effect.Effect<void>
  /** restarts over the actor's lifetime */
  readonly restarts: Effect.Effect<number>
  readonly status: Effect.Effect<ActorStatus>
  /** messages waiting in the mailbox */
  readonly queued: Effect.Effect<number>
  /** waits until the actor terminates: succeeds when it was stopped, fails with `ActorEscalated` */
  readonly awaitTermination: Effect.Effect<void, ActorEscalated>
}

/** Complete an ask's reply. */
export const reply = <A>(reply: Reply<A>, value: A): Effect.Effect<boolean> => Deferred.succeed(reply, value)

/** The default restart policy: exponential backoff 10 ms, 20 ms, ... capped at 1 s; 10 restarts in a row. */
export const defaultSupervision: Supervision<unknown> = {
  restart: Schedule.min([Schedule.exponential("10 millis"), Schedule.spaced("1 second")]),
  maxRestarts: 10
}

/**
 * @internal How a parent (Supervisor) takes part in a child's life: on escalation it decides
 * whether the child restarts from `initial` (keeping its mailbox and ref) or terminates.
 */
export interface ParentHooks {
  readonly onEscalation: (failure: ActorEscalated) => Effect.Effect<"restart" | "stop">
}

interface Cell<S> {
  state: S
  status: ActorStatus
  restarts: number
}

/**
 * Starts an actor in a child of the current `Scope`; see the module comment for the semantics.
 * The behaviour's requirements `R` are captured from the caller.
 */
export const spawn = <S, M, E = never, R = never>(
  options: ActorOptions<S, M, E, R>
): Effect.Effect<ActorRef<M>, never, R | Scope.Scope> => spawnWith(options)

/** @internal `spawn` with parent hooks, used by `Supervisor`. */
export const spawnWith = Effect.fnUntraced(function*<S, M, E, R>(
  options: ActorOptions<S, M, E, R>,
  parent?: ParentHooks
): Effect.fn.Return<ActorRef<M>, never, R | Scope.Scope> {
  const name = options.name
  if (!Number.isInteger(options.capacity) || options.capacity < 1) {
    return yield* Effect.die(new RangeError(`actor ${name}: capacity must be an integer >= 1, got ${options.capacity}`))
  }
  const supervision: Supervision<E> = options.supervision ?? defaultSupervision
  const mailbox = yield* Queue.bounded<M>(options.capacity)
  const cell: Cell<S> = { state: options.initial, status: "running", restarts: 0 }
  const terminated = yield* Deferred.make<void, ActorEscalated>()
  // replies of asks still waiting; failed with ActorStopped when the actor terminates
  const pending = new Set<Reply<unknown>>()
  // message object -> its reply, to fail the ask whose message crashed the behaviour
  const replyOf = new WeakMap<object, Reply<unknown>>()

  const scope = yield* Scope.fork(yield* Scope.Scope)

  const escalate = (cause: Cause.Cause<E>) =>
    new ActorEscalated({ actor: name, restarts: cell.restarts, reason: Cause.pretty(cause), cause })

  /** One incarnation: handle messages until an escalation. Never succeeds. */
  const incarnation = Effect.gen(function*() {
    let step = yield* Schedule.toStepWithSleep(supervision.restart)
    let consecutive = 0
    while (true) {
      const msg = yield* Queue.take(mailbox)
      const exit = yield* Effect.exit(Effect.suspend(() => options.behavior(cell.state, msg)))
      const reply = typeof msg === "object" && msg !== null ? replyOf.get(msg) : undefined
      if (Exit.isSuccess(exit)) {
        cell.state = exit.value
        if (consecutive > 0) {
          consecutive = 0
          step = yield* Schedule.toStepWithSleep(supervision.restart)
        }
        continue
      }
      const cause = exit.cause
      // interruption is not a crash: the actor is being stopped (or the behaviour interrupted itself)
      if (Cause.hasInterruptsOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
      consecutive++
      if (reply !== undefined) {
        yield* Deferred.fail(reply, new ActorCrashed({ actor: name, reason: Cause.pretty(cause) }))
      }
      if (consecutive > supervision.maxRestarts) return yield* escalate(cause)
      const failure: ActorFailure<E> = { actor: name, cause, consecutive }
      yield* Effect.logWarning(`actor ${name} crashed (${consecutive} in a row), restarting`, cause)
      cell.status = "restarting"
      const next = yield* step(failure).pipe(
        Pull.matchEffect({
          onSuccess: () => Effect.succeed(true),
          onFailure: (c) => Effect.failCause(c),
          onDone: () => Effect.succeed(false)
        })
      )
      if (!next) return yield* escalate(cause)
      if (options.onRestart) cell.state = yield* options.onRestart(cell.state, failure)
      cell.restarts++
      cell.status = "running"
    }
  })

  /** Incarnations until stopped, or escalation the parent does not absorb. */
  const life: Effect.Effect<never, ActorEscalated, R> = Effect.gen(function*() {
    while (true) {
      const escalated = yield* Effect.flip(incarnation)
      if (parent === undefined) return yield* escalated
      yield* Effect.logWarning(`actor ${name} escalates to its supervisor`, escalated)
      cell.status = "restarting"
      const decision = yield* parent.onEscalation(escalated)
      if (decision === "stop") return yield* escalated
      cell.state = options.initial
      cell.restarts++
      cell.status = "running"
    }
  })

  const finalize = (exit: Exit.Exit<never, ActorEscalated>) =>
    Effect.gen(function*() {
      const escalated = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      const outcome: Exit.Exit<void, ActorEscalated> = Option.isSome(escalated) ? Exit.fail(escalated.value) : Exit.void
      cell.status = Exit.isFailure(outcome) ? "failed" : "stopped"
      yield* Queue.shutdown(mailbox)
      const stopped = new ActorStopped({ actor: name })
      for (const r of pending) yield* Deferred.fail(r, stopped)
      pending.clear()
      if (options.onStop) yield* options.onStop(cell.state, outcome)
      yield* Deferred.done(terminated, outcome)
      // release the actor's scope (a no-op when it is already closing)
      yield* Effect.forkDetach(Scope.close(scope, Exit.void))
    })

  const fiber = yield* life.pipe(
    Effect.onExit(finalize),
    Effect.annotateLogs({ actor: name }),
    Effect.forkIn(scope)
  )

  const stop: Effect.Effect<void> = Effect.gen(function*() {
    // closing from a detached fiber lets the actor stop itself (a behaviour calling `self.stop`)
    const closer = yield* Effect.forkDetach(Scope.close(scope, Exit.void))
    yield* Fiber.join(closer)
    yield* Fiber.await(fiber)
  })

  const tell = (msg: M): Effect.Effect<void, ActorStopped> =>
    Effect.flatMap(Queue.offer(mailbox, msg), (accepted) =>
      accepted ? Effect.void : Effect.fail(new ActorStopped({ actor: name })))

  const ask = <A>(f: (reply: Reply<A>) => M): Effect.Effect<A, AskError> =>
    Effect.suspend(() => {
      const reply = Deferred.makeUnsafe<A, AskError>()
      const erased = reply as Reply<unknown>
      const msg = f(reply)
      if (typeof msg === "object" && msg !== null) replyOf.set(msg, erased)
      // registered before the offer: `finalize` shuts the mailbox down *before* failing `pending`,
      // so either the offer fails or the termination fails this reply
      pending.add(erased)
      return tell(msg).pipe(
        Effect.andThen(Deferred.await(reply)),
        Effect.ensuring(Effect.sync(() => pending.delete(erased)))
      )
    })

  return {
    name,
    tell,
    ask,
    stop,
    restarts: Effect.sync(() => cell.restarts),
    status: Effect.sync(() => cell.status),
    queued: Queue.size(mailbox),
    awaitTermination: Deferred.await(terminated)
  } satisfies ActorRef<M>
})
