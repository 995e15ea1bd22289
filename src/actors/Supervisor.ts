/**
 * A supervisor owns keyed child actors (e.g. one per epoch):
 *
 * - lifetime: children live in the supervisor's scope (a child of the caller's `Scope`); `stop`,
 *   or closing the caller's scope, stops every child (their `onStop` runs) before it returns.
 * - keys: `spawn(key, ...)` replaces a running child with the same key (stopping it first), or
 *   with `{ onlyIfMissing: true }` returns the running one. A terminated child leaves the map.
 * - escalation: when a child exhausts its own restart policy it escalates here. The supervisor
 *   restarts it from its `initial` state (same `ActorRef`, same mailbox) after its restart
 *   Schedule's delay, at most `maxRestarts` times over the supervisor's lifetime (all children
 *   together). One escalation more (or the Schedule ending) fails the supervisor itself: it stops
 *   all children and `awaitTermination` fails with `SupervisorEscalated`, for *its* owner to handle.
 */
import { Deferred, Effect, Exit, Fiber, Option, Pull, Schedule, Scope, Semaphore } from "effect"
import { type ActorOptions, type ActorRef, type ParentHooks, spawnWith } from "./Actor.js"
import { type ActorEscalated, ActorStopped, SupervisorEscalated } from "./errors.js"

export interface SupervisorStrategy {
  /** delay before restarting an escalated child; when the Schedule ends the supervisor fails */
  readonly restart: Schedule.Schedule<unknown, ActorEscalated>
  /** child restarts allowed over the supervisor's lifetime; 0 = fail on the first escalation */
  readonly maxRestarts: number
}

export interface SupervisorOptions {
  readonly name: string
  /** default: restart an escalated child after 100 ms, 200 ms, 400 ms; fail on the 4th escalation */
  readonly strategy?: SupervisorStrategy | undefined
}

export type SupervisorStatus = "running" | "stopped" | "failed"

export interface Supervisor<K, M> {
  readonly name: string
  /**
   * Start a child under `key`. A running child with that key is stopped and replaced, unless
   * `onlyIfMissing`, which returns it instead (the new options are then ignored).
   * Fails with `ActorStopped` once the supervisor has terminated.
   */
  readonly spawn: <S, E = never, R = never>(
    key: K,
    options: ActorOptions<S, M, E, R>,
    spawnOptions?: { readonly onlyIfMissing?: boolean | undefined }
  ) => Effect.Effect<ActorRef<M>, ActorStopped, R>
  readonly get: (key: K) => Effect.Effect<Option.Option<ActorRef<M>>>
  /** stop one child and wait for it; a no-op for an unknown key */
  readonly stopChild: (key: K) => Effect.Effect<void>
  readonly keys: Effect.Effect<ReadonlyArray<K>>
  readonly size: Effect.Effect<number>
  /** child restarts performed after escalations */
  readonly restarts: Effect.Effect<number>
  readonly status: Effect.Effect<SupervisorStatus>
  /** stop all children and the supervisor; waits for their finalizers; idempotent */
  readonly stop: Effect.Effect<void>
  /** succeeds when stopped, fails with `SupervisorEscalated` when it gave up */
  readonly awaitTermination: Effect.Effect<void, SupervisorEscalated>
}

export const defaultStrategy: SupervisorStrategy = {
  restart: Schedule.exponential("100 millis"),
  maxRestarts: 3
}

interface Entry<M> {
  ref: ActorRef<M> | undefined
}

/** Create a supervisor in a child of the current `Scope`. */
export const make = Effect.fnUntraced(function*<K, M>(
  options: SupervisorOptions
): Effect.fn.Return<Supervisor<K, M>, never, Scope.Scope> {
  const name = options.name
  const strategy = options.strategy ?? defaultStrategy
  const scope = yield* Scope.fork(yield* Scope.Scope)
  const children = new Map<K, Entry<M>>()
  const lock = yield* Semaphore.make(1)
  const terminated = yield* Deferred.make<void, SupervisorEscalated>()
  let status: SupervisorStatus = "running"
  let restarts = 0
  const step = yield* Schedule.toStepWithSleep(strategy.restart)

  // registered first => runs last, after every child has stopped
  yield* Scope.addFinalizer(
    scope,
    Effect.suspend(() => {
      if (status === "running") status = "stopped"
      return Deferred.succeed(terminated, undefined)
    })
  )

  const closeScope: Effect.Effect<void> = Effect.gen(function*() {
    // from a detached fiber, so that a child (or the supervisor's own caller inside a child) can trigger it
    const closer = yield* Effect.forkDetach(Scope.close(scope, Exit.void))
    yield* Fiber.join(closer)
  })

  const giveUp = (key: K, failure: ActorEscalated) =>
    Effect.gen(function*() {
      status = "failed"
      const error = new SupervisorEscalated({ supervisor: name, child: String(key), restarts, cause: failure })
      yield* Effect.logError(`supervisor ${name} gives up`, error)
      yield* Deferred.fail(terminated, error)
      // not awaited: the escalating child is one of the fibers this interrupts
      yield* Effect.forkDetach(Scope.close(scope, Exit.void))
      return "stop" as const
    })

  const hooksFor = (key: K): ParentHooks => ({
    onEscalation: (failure) =>
      Effect.gen(function*() {
        if (status !== "running") return "stop" as const
        if (restarts >= strategy.maxRestarts) return yield* giveUp(key, failure)
        const again = yield* step(failure).pipe(
          Pull.matchEffect({
            onSuccess: () => Effect.succeed(true),
            onFailure: (c) => Effect.failCause(c),
            onDone: () => Effect.succeed(false)
          })
        )
        if (!again || status !== "running") return status === "running" ? yield* giveUp(key, failure) : "stop" as const
        restarts++
        yield* Effect.logWarning(`supervisor ${name} restarts child ${String(key)} (${restarts}/${strategy.maxRestarts})`)
        return "restart" as const
      })
  })

  const stopChild = (key: K): Effect.Effect<void> =>
    Effect.suspend(() => children.get(key)?.ref?.stop ?? Effect.void)

  const spawn = <S, E = never, R = never>(
    key: K,
    actor: ActorOptions<S, M, E, R>,
    spawnOptions?: { readonly onlyIfMissing?: boolean | undefined }
  ): Effect.Effect<ActorRef<M>, ActorStopped, R> =>
    lock.withPermit(Effect.gen(function*() {
      if (status !== "running") return yield* new ActorStopped({ actor: name })
      const existing = children.get(key)?.ref
      if (existing !== undefined) {
        if (spawnOptions?.onlyIfMissing === true) return existing
        yield* existing.stop
      }
      const entry: Entry<M> = { ref: undefined }
      const userOnStop = actor.onStop
      const ref = yield* spawnWith<S, M, E, R>({
        ...actor,
        onStop: (state, exit) =>
          Effect.andThen(userOnStop ? userOnStop(state, exit) : Effect.void, Effect.sync(() => {
            if (children.get(key) === entry) children.delete(key)
          }))
      }, hooksFor(key)).pipe(Scope.provide(scope))
      entry.ref = ref
      children.set(key, entry)
      return ref
    }))

  return {
    name,
    spawn,
    get: (key) => Effect.sync(() => Option.fromNullishOr(children.get(key)?.ref)),
    stopChild,
    keys: Effect.sync(() => Array.from(children.keys())),
    size: Effect.sync(() => children.size),
    restarts: Effect.sync(() => restarts),
    status: Effect.sync(() => status),
    stop: closeScope,
    awaitTermination: Deferred.await(terminated)
  } satisfies Supervisor<K, M>
})
