/**
 * What a supervised component does when it crashes, declared next to the component: which
 * failures it recovers from by starting over (`while`), and how long it waits before each start
 * (`schedule`). A failure `while` rejects, or one that arrives after the schedule ended, escalates:
 * the supervisor stops every component and fails with that error (its exit code is the process's).
 */
import { Duration, Effect, Schedule } from "effect"
import { errorMessage } from "../domain/error-message.js"

export interface RestartPolicy<E> {
  /** failures after which the component starts over; any other escalates at once */
  readonly while: (error: E) => boolean
  /** the delay before each start over; once it ends, the next failure escalates */
  readonly schedule: Schedule.Schedule<unknown, E>
  /** runs as the component goes down, before the delay (e.g. telling /health a dependency is down) */
  readonly onRestart?: ((error: E) => Effect.Effect<void>) | undefined
}

/** A component that never starts over: every failure escalates. */
export const never: RestartPolicy<unknown> = { while: () => false, schedule: Schedule.recurs(0) }

export interface BackoffOptions<E> {
  readonly while: (error: E) => boolean
  /** the first delay, doubled on every start over */
  readonly base: Duration.Input
  /** the longest delay */
  readonly cap: Duration.Input
  /** starts over allowed in the component's lifetime (default: no limit) */
  readonly times?: number | undefined
  readonly onRestart?: ((error: E) => Effect.Effect<void>) | undefined
}

/** Start over after base, 2·base, 4·base … capped, while the failure is one of `while`'s. */
export const backoff = <E>(options: BackoffOptions<E>): RestartPolicy<E> => {
  const capped = Schedule.min([Schedule.exponential(options.base), Schedule.spaced(options.cap)])
  return {
    while: options.while,
    schedule: options.times === undefined ? capped : capped.pipe(Schedule.upTo({ times: options.times })),
    onRestart: options.onRestart
  }
}

/**
 * The policy as the Schedule `Effect.retry` runs: `while` is checked before the delay is taken, so a
 * failure that escalates is never announced as a start over, and each start over is logged (WARN
 * `<name>: <message>; starting over in <ms> ms`) with the delay it waits.
 */
export const restartSchedule = <E>(name: string, policy: RestartPolicy<E>): Schedule.Schedule<unknown, E> =>
  policy.schedule.pipe(
    Schedule.setInputType<E>(),
    Schedule.while(({ input }) => policy.while(input)),
    Schedule.tap(({ duration, input }) =>
      (policy.onRestart === undefined ? Effect.void : policy.onRestart(input)).pipe(
        Effect.andThen(Effect.logWarning(`${name}: ${errorMessage(input)}; starting over in ${Duration.toMillis(duration)} ms`))
      )
    )
  )
