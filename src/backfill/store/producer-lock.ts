/**
 * The producer lock as one store client holds it: the token its writes are fenced on, the runs
 * waiting to hear that the lock was lost, and the loop that keeps the lock alive for a scope.
 * The Redis store and the in-memory one share it; they differ only in where the lock lives
 * (the three lock operations they pass in).
 */
import { Duration, Effect, Schedule, type Scope } from "effect"
import { bestEffortAtStop, type RedisError } from "../../services/Redis.js"
import { type ProducerLockHeld, ProducerLockLost } from "../errors.js"

/** The lock itself: take or extend, extend only if still ours, compare-and-delete. */
export interface ProducerLockOps {
  readonly acquire: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld>
  readonly refresh: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld>
  readonly release: (owner: string) => Effect.Effect<boolean, RedisError>
}

export interface ProducerLockClient extends ProducerLockOps {
  /** The token this client's writes are fenced on: set once it took the lock, kept after losing it. */
  readonly token: () => string | undefined
  /** The lock was found in `holder`'s hands: tells every `lost()` waiter, returns the error to fail the write with. */
  readonly lose: (holder: string) => ProducerLockLost
  /** Acquire now, refresh every ttl/3 in the background, release when the scope closes. */
  readonly hold: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld, Scope.Scope>
  /** Fails with ProducerLockLost when the lock is lost after the call (never completes otherwise). */
  readonly lost: () => Effect.Effect<never, ProducerLockLost>
}

export const makeProducerLockClient = (prefix: string, ops: ProducerLockOps): ProducerLockClient => {
  let fence: string | undefined
  const waiters = new Set<(error: ProducerLockLost) => void>()
  const lose = (holder: string) => {
    const error = new ProducerLockLost({ prefix, holder })
    for (const notify of [...waiters]) notify(error)
    return error
  }

  const acquire = (owner: string, ttlMs: number) => ops.acquire(owner, ttlMs).pipe(Effect.tap(() => Effect.sync(() => (fence = owner))))
  const release = (owner: string) =>
    Effect.suspend(() => {
      if (fence === owner) fence = undefined
      return ops.release(owner)
    })

  const hold = (owner: string, ttlMs: number): Effect.Effect<void, RedisError | ProducerLockHeld, Scope.Scope> =>
    Effect.gen(function*() {
      // a release Redis does not answer is left to the lock's TTL
      yield* Effect.acquireRelease(acquire(owner, ttlMs), () => release(owner).pipe(bestEffortAtStop()))
      const every = Duration.millis(Math.max(10, Math.floor(ttlMs / 3)))
      // A failed refresh (store unreachable) is logged once and retried: the fence keeps the writes
      // safe meanwhile. A lock found expired or taken over is lost for good: the run must stop.
      let unreachable = false
      const refresh = ops.refresh(owner, ttlMs).pipe(
        Effect.tap(() =>
          unreachable
            ? Effect.sync(() => (unreachable = false)).pipe(Effect.andThen(Effect.logInfo(`producer lock on ${prefix} refreshed again`)))
            : Effect.void
        ),
        Effect.catchTag("RedisError", (e) =>
          unreachable
            ? Effect.void
            : Effect.sync(() => (unreachable = true)).pipe(
              Effect.andThen(Effect.logWarning(`cannot refresh the producer lock on ${prefix} (${e.message}); retrying every ${Duration.format(every)}`))
            ))
      )
      yield* refresh.pipe(
        Effect.repeat(Schedule.spaced(every)),
        Effect.catchTag("ProducerLockHeld", (e) =>
          Effect.logError(`producer lock on ${prefix} lost (now held by ${e.holder}): stopping`).pipe(
            Effect.andThen(Effect.sync(() => {
              fence = owner // keep fencing: every later write is refused
              lose(e.holder)
            }))
          )),
        Effect.delay(every),
        Effect.forkScoped
      )
    })

  const lost = () =>
    Effect.callback<never, ProducerLockLost>((resume) => {
      const notify = (error: ProducerLockLost) => resume(Effect.fail(error))
      waiters.add(notify)
      return Effect.sync(() => waiters.delete(notify))
    })

  return { acquire, refresh: ops.refresh, release, token: () => fence, lose, hold, lost }
}
