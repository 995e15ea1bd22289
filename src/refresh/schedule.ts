/**
 * The refresh on an Effect `Schedule`, for the long-running commands (`serve`, `relay`):
 *
 * - **trigger**: a cron expression in UTC (`HECATE_REFRESH_CRON`, default `0 0 * * *`, daily at
 *   00:00 UTC; the first run is at the first tick, not at start) or a fixed interval;
 * - **no overlap**: a tick that finds the previous run still going is skipped (logged, counted);
 * - **retries**: a failing run is retried with capped exponential backoff (+ jitter), each failure
 *   logged; when the retries are spent the run is logged as failed and the schedule goes on to the
 *   next tick. Defects are caught the same way: **nothing a run does stops the service**. Only
 *   interruption (the service stopping) ends the loop.
 *
 * `makeRefreshScheduler(job, options)` returns the loop (`run`, an Effect that never succeeds) and
 * a `status` for /health.
 */
import { Cause, Cron, Duration, Effect, Metric, Ref, Schedule } from "effect"

export type RefreshTrigger =
  | { readonly _tag: "Cron"; readonly expression: string }
  | { readonly _tag: "Interval"; readonly every: Duration.Input }

export interface RetryPolicy {
  /** further attempts after a failed one (default 4) */
  readonly times: number
  /** first backoff delay (default 10 s), doubled each attempt */
  readonly base: Duration.Input
  /** the longest backoff delay (default 5 minutes) */
  readonly cap: Duration.Input
  /** randomise each delay (default true) */
  readonly jitter: boolean
}

export const DEFAULT_RETRY: RetryPolicy = { times: 4, base: "10 seconds", cap: "5 minutes", jitter: true }

export interface RefreshSchedulerOptions {
  readonly trigger: RefreshTrigger
  readonly retry?: Partial<RetryPolicy> | undefined
  /** also run once right away (default false: the first run is at the first tick) */
  readonly runOnStart?: boolean | undefined
  /** a line describing a successful run's result, for the log */
  readonly describe?: ((result: unknown) => string) | undefined
}

export interface RefreshSchedulerStatus {
  readonly trigger: string
  readonly running: boolean
  /** runs started (ticks not skipped) */
  readonly runs: number
  readonly succeeded: number
  /** runs that failed every attempt */
  readonly failed: number
  /** failed attempts, retried or not */
  readonly failedAttempts: number
  /** ticks skipped because a run was still going */
  readonly skipped: number
  readonly lastStartedAt: string | undefined
  readonly lastSucceededAt: string | undefined
  readonly lastError: string | undefined
  readonly lastResult: string | undefined
  /** when the next tick is due (ISO), once the loop runs */
  readonly nextRunAt?: string | undefined
}

export const refreshRunsTotal = Metric.counter("hecate_refresh_runs_total", { description: "scheduled refresh runs started", incremental: true })
export const refreshFailuresTotal = Metric.counter("hecate_refresh_failures_total", {
  description: "scheduled refresh runs that failed every attempt",
  incremental: true
})
export const refreshSkippedTotal = Metric.counter("hecate_refresh_skipped_total", {
  description: "refresh ticks skipped because the previous run was still going",
  incremental: true
})

const describeTrigger = (t: RefreshTrigger): string =>
  t._tag === "Cron" ? `cron "${t.expression}" (UTC)` : `every ${Duration.format(Duration.fromInputUnsafe(t.every))}`

const errorText = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)

/** The backoff between attempts of one run. */
export const retrySchedule = (policy: RetryPolicy) => {
  const capped = Schedule.min([Schedule.exponential(policy.base, 2), Schedule.spaced(policy.cap)])
  return (policy.jitter ? Schedule.jittered(capped) : capped).pipe(Schedule.upTo({ times: policy.times }))
}

/** The ticks: cron (UTC) or a fixed interval. Fails with CronParseError for a bad expression. */
export const triggerSchedule = (trigger: RefreshTrigger) =>
  trigger._tag === "Cron"
    ? Effect.map(Effect.fromResult(Cron.parse(trigger.expression, "UTC")), (cron) => Schedule.cron(cron) as Schedule.Schedule<unknown>)
    : Effect.succeed(Schedule.fixed(trigger.every) as Schedule.Schedule<unknown>)

export interface RefreshScheduler {
  /** The loop: ticks forever; interrupt it to stop (an in-flight run is interrupted with it). */
  readonly run: Effect.Effect<never, Cron.CronParseError>
  readonly status: Effect.Effect<RefreshSchedulerStatus>
}

export const makeRefreshScheduler = <A, E, R>(
  job: Effect.Effect<A, E, R>,
  options: RefreshSchedulerOptions
): Effect.Effect<RefreshScheduler, never, R> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry }
    const trigger = describeTrigger(options.trigger)
    const state = yield* Ref.make<RefreshSchedulerStatus>({
      trigger,
      running: false,
      runs: 0,
      succeeded: 0,
      failed: 0,
      failedAttempts: 0,
      skipped: 0,
      lastStartedAt: undefined,
      lastSucceededAt: undefined,
      lastError: undefined,
      lastResult: undefined
    })
    let loopStartedAt: number | undefined
    const now = Effect.clockWith((clock) => Effect.succeed(new Date(clock.currentTimeMillisUnsafe()).toISOString()))

    // one attempt: defects become failures so they are retried and logged like errors
    const attempt = job.pipe(
      Effect.catchDefect((defect) => Effect.fail({ message: `defect: ${errorText(defect)}` } as const)),
      Effect.tapError((error) =>
        Ref.update(state, (s) => ({ ...s, failedAttempts: s.failedAttempts + 1, lastError: errorText(error) })).pipe(
          Effect.andThen(Effect.logWarning(`refresh attempt failed: ${errorText(error)}`))
        )
      )
    )

    const oneRun = Effect.gen(function*() {
      const startedAt = yield* now
      yield* Ref.update(state, (s) => ({ ...s, runs: s.runs + 1, lastStartedAt: startedAt }))
      yield* Metric.update(refreshRunsTotal, 1)
      const exit = yield* attempt.pipe(Effect.retry(retrySchedule(policy)), Effect.exit)
      const at = yield* now
      if (exit._tag === "Success") {
        const line = options.describe?.(exit.value)
        yield* Ref.update(state, (s) => ({ ...s, succeeded: s.succeeded + 1, lastSucceededAt: at, lastError: undefined, lastResult: line }))
        yield* Effect.logInfo(line ?? "refresh done")
      } else if (!Cause.hasInterruptsOnly(exit.cause)) {
        const error = errorText(Cause.squash(exit.cause))
        yield* Ref.update(state, (s) => ({ ...s, failed: s.failed + 1, lastError: error }))
        yield* Metric.update(refreshFailuresTotal, 1)
        yield* Effect.logError(`refresh failed after ${policy.times + 1} attempts: ${error}; the service keeps running, next try at the next tick`)
      } else {
        return yield* Effect.interrupt
      }
    }).pipe(
      Effect.ensuring(Ref.update(state, (s) => ({ ...s, running: false }))),
      Effect.annotateLogs({ component: "refresh" }),
      Effect.provideContext(context)
    )

    // a tick starts a run unless one is going; the check-and-set is one synchronous step
    const tick = Effect.gen(function*() {
      const started = yield* Ref.modify(state, (s) => (s.running ? [false, { ...s, skipped: s.skipped + 1 }] as const : [true, { ...s, running: true }] as const))
      if (!started) {
        yield* Metric.update(refreshSkippedTotal, 1)
        yield* Effect.logWarning("refresh tick skipped: the previous run is still going").pipe(Effect.annotateLogs({ component: "refresh" }))
        return
      }
      yield* Effect.forkChild(oneRun)
    })

    const run = Effect.gen(function*() {
      const ticks = yield* triggerSchedule(options.trigger)
      loopStartedAt = yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe()))
      yield* Effect.logInfo(`refresh scheduled: ${trigger}`).pipe(Effect.annotateLogs({ component: "refresh" }))
      if (options.runOnStart === true) yield* tick
      yield* Effect.schedule(tick, ticks)
      return yield* Effect.never
    })

    // the next tick, for operators: the cron's next match, or the interval's next multiple since the loop began
    const cron = options.trigger._tag === "Cron" ? Cron.parse(options.trigger.expression, "UTC") : undefined
    const everyMs = options.trigger._tag === "Interval" ? Duration.toMillis(Duration.fromInputUnsafe(options.trigger.every)) : undefined
    const nextRunAt = (nowMs: number): string | undefined => {
      if (cron !== undefined) return cron._tag === "Success" ? Cron.next(cron.success, nowMs).toISOString() : undefined
      if (everyMs === undefined || everyMs <= 0 || loopStartedAt === undefined) return undefined
      return new Date(loopStartedAt + Math.max(1, Math.ceil((nowMs - loopStartedAt) / everyMs)) * everyMs).toISOString()
    }
    const status = Effect.clockWith((clock) =>
      Effect.map(Ref.get(state), (s) => (loopStartedAt === undefined ? s : { ...s, nextRunAt: nextRunAt(clock.currentTimeMillisUnsafe()) }))
    )

    return { run, status } satisfies RefreshScheduler
  })
