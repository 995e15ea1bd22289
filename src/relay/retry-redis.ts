/**
 * How the relay and its Redis sink retry Redis: forever, with a capped backoff, logging an outage
 * once at each end. Its own module so the relay (src/relay/relay.ts) and its sink
 * (src/sinks/relay-redis.ts) share it without importing each other.
 */
import { Duration, Effect, Predicate, Schedule } from "effect"
import { errorMessage } from "../domain/error-message.js"

/**
 * Failures of one Redis path in a row, shared by the writes that take it (up to `pipeline` of the
 * relay's writes fail together in an outage): the first failure is a WARN, the rest DEBUG, and the
 * first success after them an INFO, so an outage is two lines, not one per write per attempt.
 */
export class RedisStreak {
  failures = 0
  since = 0
}

/** The delay before each Redis retry: 50 ms, doubled per attempt, at most 2 s; forever. */
const redisBackoff = Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("2 seconds")])

/** Retries RedisErrors forever (capped backoff); logs a streak of failures once at each end. */
export const retryRedis = <A, E>(effect: Effect.Effect<A, E>, what: string, streak: RedisStreak = new RedisStreak()): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.retry(redisBackoff.pipe(
      Schedule.setInputType<E>(),
      // only Redis failures are retried: any other error is the caller's to handle
      Schedule.while(({ input }) => Predicate.isTagged(input, "RedisError")),
      Schedule.tap(({ attempt, duration, input }) => {
        const first = streak.failures++ === 0
        if (first) streak.since = Date.now()
        const line = `${what} failed (${errorMessage(input)}); retrying in ${Duration.toMillis(duration)} ms (attempt ${attempt})`
        return first ? Effect.logWarning(`${line}; further failures until Redis answers are logged at debug level`) : Effect.logDebug(line)
      })
    )),
    Effect.tap(() => {
      if (streak.failures === 0) return Effect.void
      const failures = streak.failures
      streak.failures = 0
      return Effect.logInfo(`${what} succeeded after ${failures} failed Redis attempt(s) over ${((Date.now() - streak.since) / 1000).toFixed(1)} s`)
    })
  )

