/**
 * `clusterSchedule`: run an Effect on a schedule once per tick across every process that calls
 * it — not once per process. Each caller upserts the same BullMQ job scheduler (same id, same
 * pattern: upserting is idempotent, so N instances define one scheduler) and runs a worker on the
 * scheduler's own queue; BullMQ creates one job per tick (id `repeat:<id>:<tick ms>`), and exactly
 * one worker takes it. If an instance dies mid-run its lock expires and another one finishes the
 * tick (so the Effect should be idempotent, as the refresh is).
 *
 *   yield* clusterSchedule({ id: "refresh", pattern: "0 3 * * *", connection: { url } }, (tick) => refreshOnce)
 *
 * Scoped: the worker stops with the scope. The scheduler itself stays in Redis (other instances
 * still rely on it); `removeClusterSchedule` deletes it.
 */
import { hostname } from "node:os"
import { Queue } from "bullmq"
import { Effect, Layer, type Scope } from "effect"
import { effectWorkerLayer, QueueError, type QueueSettings } from "./EpochQueue.js"

export interface ClusterScheduleOptions {
  /** Scheduler id; also names its queue (`hecate-schedule-<id>` unless `queueName`). */
  readonly id: string
  /** Cron pattern (with `tz`, default UTC) … */
  readonly pattern?: string
  readonly tz?: string
  /** … or a fixed interval in ms. */
  readonly every?: number
  readonly connection: QueueSettings["connection"]
  /** BullMQ key prefix (default "bull"). */
  readonly prefix?: string
  readonly queueName?: string
  /** This instance's name (default host:pid). */
  readonly instance?: string
  /** Job lock TTL (default 30 s): how long a dead instance's tick waits before another one runs it. */
  readonly lockDuration?: number
  readonly stalledInterval?: number
}

export interface ScheduledTick {
  /** The tick's scheduled time (ms since the epoch). */
  readonly at: number
  readonly jobId: string
  readonly instance: string
}

const queueSettingsOf = (options: ClusterScheduleOptions): QueueSettings => ({
  name: options.queueName ?? `hecate-schedule-${options.id}`,
  prefix: options.prefix ?? "bull",
  connection: options.connection
})

const withQueue = <A>(options: ClusterScheduleOptions, operation: string, f: (q: Queue) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const s = queueSettingsOf(options)
      const q = new Queue(s.name, { connection: s.connection, prefix: s.prefix })
      q.on("error", () => {})
      return q
    }),
    (q) => Effect.tryPromise({ try: () => f(q), catch: (cause) => new QueueError({ operation, detail: String(cause), cause }) }),
    (q) => Effect.promise(() => q.close().catch(() => undefined))
  )

/** Defines (or redefines) the scheduler and runs `run` for the ticks this instance takes, for the scope. */
export const clusterSchedule = <A, E, R>(
  options: ClusterScheduleOptions,
  run: (tick: ScheduledTick) => Effect.Effect<A, E, R>
): Effect.Effect<void, QueueError, R | Scope.Scope> =>
  Effect.gen(function*() {
    if ((options.pattern === undefined) === (options.every === undefined)) {
      return yield* new QueueError({ operation: `schedule ${options.id}`, detail: "give exactly one of pattern and every", cause: null })
    }
    const repeat = options.pattern !== undefined
      ? { pattern: options.pattern, tz: options.tz ?? "UTC" }
      : { every: options.every! }
    yield* withQueue(options, `upsertJobScheduler ${options.id}`, (q) =>
      q.upsertJobScheduler(options.id, repeat, {
        name: options.id,
        opts: { attempts: 1, removeOnComplete: 1000, removeOnFail: 1000 }
      }))
    const instance = options.instance ?? `${hostname()}:${process.pid}`
    const worker = effectWorkerLayer(
      {
        queue: queueSettingsOf(options),
        concurrency: 1,
        name: instance,
        ...(options.lockDuration !== undefined ? { lockDuration: options.lockDuration } : {}),
        ...(options.stalledInterval !== undefined ? { stalledInterval: options.stalledInterval } : {}),
        maxStalledCount: 1
      },
      (job) => {
        const at = Number(/:(\d+)$/.exec(job.id)?.[1] ?? Date.now())
        return run({ at, jobId: job.id, instance }).pipe(
          Effect.tapCause((cause) => Effect.logWarning(`scheduled ${options.id} run of ${new Date(at).toISOString()} failed`, cause))
        )
      }
    )
    yield* Layer.build(worker)
  })

/** Deletes the scheduler (no further ticks on any instance). */
export const removeClusterSchedule = (options: ClusterScheduleOptions): Effect.Effect<boolean, QueueError> =>
  withQueue(options, `removeJobScheduler ${options.id}`, (q) => q.removeJobScheduler(options.id))
