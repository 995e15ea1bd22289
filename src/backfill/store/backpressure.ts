/**
 * The producer's wait for its consumers: while `last_synced_epoch − low_watermark` is at
 * least the allowed number of unconsumed epochs, sleep and look again, flagging the pause in the
 * metrics on its two edges. Written over the store's own operations, so every store (Redis, in
 * memory) waits the same way.
 */
import { Duration, Effect } from "effect"
import { bestEffortAtStop, type RedisError } from "../../services/Redis.js"
import type { ProducerLockLost } from "../errors.js"

export interface BackpressureOptions {
  /** REDIS_MAX_UNCONSUMED_EPOCHS (default 5). */
  readonly maxUnconsumedEpochs?: number
  /** Poll interval (default 10 s). */
  readonly pollInterval?: Duration.Input
}

export interface BackpressureOps {
  readonly unconsumedLag: () => Effect.Effect<number, RedisError>
  readonly setBackpressurePaused: (paused: boolean) => Effect.Effect<void, RedisError | ProducerLockLost>
}

export const waitForBackpressureWith = (store: BackpressureOps, opts?: BackpressureOptions): Effect.Effect<void, RedisError | ProducerLockLost> => {
  const max = opts?.maxUnconsumedEpochs ?? 5
  const interval = opts?.pollInterval ?? Duration.seconds(10)
  return Effect.gen(function*() {
    let lag = yield* store.unconsumedLag()
    if (lag < max) return
    yield* store.setBackpressurePaused(true)
    yield* Effect.logWarning(
      `Backpressure: ${lag} unconsumed epoch(s) ≥ REDIS_MAX_UNCONSUMED_EPOCHS=${max}; waiting for consumers to drain`
    )
    yield* Effect.gen(function*() {
      while (lag >= max) {
        yield* Effect.sleep(interval)
        lag = yield* store.unconsumedLag()
      }
    }).pipe(Effect.ensuring(store.setBackpressurePaused(false).pipe(bestEffortAtStop())))
  }).pipe(Effect.withSpan("EpochStore.waitForBackpressure"))
}
