/**
 * The scale-out boundary as Effect services over BullMQ (6.7.0) on the Redis Hecate already uses:
 *
 * - `EpochQueue`: the coordinator's side — enqueue one job per epoch (deterministic job id, so
 *   re-enqueueing is harmless), look a job up, remove it;
 * - `effectWorkerLayer`: a BullMQ Worker whose processor is an Effect, alive for the layer's
 *   scope (the workers' side).
 *
 * Nothing outside src/distributed imports bullmq, so the engine could be swapped (e.g. for
 * effect/cluster once it is stable) by providing these two with other layers.
 */
import { Job, Queue, type ConnectionOptions, UnrecoverableError, Worker } from "bullmq"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import { EPOCH_JOB_NAME, type EpochJob } from "./job.js"
import { errorMessage } from "../domain/error-message.js"

/** Where the queue lives: BullMQ queue name, BullMQ key prefix, and the Redis connection. */
export interface QueueSettings {
  /** Queue name (no ":"), default "hecate-backfill". */
  readonly name: string
  /** BullMQ key prefix (keys are `<prefix>:<name>:…`), default "bull". */
  readonly prefix: string
  /** `{ url }` or an ioredis instance (the caller then owns and closes it). */
  readonly connection: ConnectionOptions
}

export class QueueError extends Schema.TaggedError<QueueError>()("QueueError", {
  operation: Schema.String,
  detail: Schema.String,
  cause: Schema.Defect()
}) {
  readonly exitCode = 1
  override get message(): string {
    return `job queue: ${this.operation} failed: ${this.detail}`
  }
}

/** A job's state as the coordinator needs it. */
export type JobView =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Pending"; readonly state: string; readonly attemptsMade: number }
  | { readonly _tag: "Completed"; readonly result: unknown }
  | { readonly _tag: "Failed"; readonly reason: string; readonly attemptsMade: number }

export interface EnqueueOptions {
  /** Attempts in all (BullMQ `attempts`): retries + 1. */
  readonly attempts: number
  /** Fixed delay between attempts (ms). */
  readonly backoffMs: number
}

export interface EpochQueueShape {
  readonly name: string
  readonly prefix: string
  /** Adds the job under `jobId`; an existing job with that id (in any state) is returned as is. */
  readonly enqueue: (jobId: string, job: EpochJob, options: EnqueueOptions) => Effect.Effect<void, QueueError>
  readonly inspect: (jobId: string) => Effect.Effect<JobView, QueueError>
  /** Removes a finished job (a no-op for a missing one; an active job is locked and stays). */
  readonly remove: (jobId: string) => Effect.Effect<void, QueueError>
  /** Job counts by state (waiting, active, delayed, completed, failed, …). */
  readonly counts: () => Effect.Effect<Readonly<Record<string, number>>, QueueError>
  /** Deletes the queue and all its jobs (tests, or an operator starting over). */
  readonly obliterate: () => Effect.Effect<void, QueueError>
}

const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, QueueError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new QueueError({ operation, detail: errorMessage(cause), cause }) })

/** Opens a BullMQ Queue for the scope (closed on release). */
export const makeEpochQueue = (settings: QueueSettings) =>
  Effect.gen(function*() {
    if (settings.name.includes(":")) {
      return yield* new QueueError({ operation: "open", detail: `queue name ${JSON.stringify(settings.name)} contains ":"`, cause: null })
    }
    const queue = yield* Effect.acquireRelease(
      attempt("open", async () => {
        const q = new Queue<EpochJob>(settings.name, { connection: settings.connection, prefix: settings.prefix })
        q.on("error", () => {}) // connection errors surface on the next call as a QueueError
        await q.waitUntilReady()
        return q
      }),
      (q) => Effect.promise(() => q.close().catch(() => undefined))
    )
    const shape: EpochQueueShape = {
      name: settings.name,
      prefix: settings.prefix,
      enqueue: (jobId, job, options) =>
        attempt(`add ${jobId}`, () =>
          queue.add(EPOCH_JOB_NAME, job, {
            jobId,
            attempts: Math.max(1, options.attempts),
            backoff: { type: "fixed", delay: Math.max(0, options.backoffMs) },
            // kept until the coordinator has committed (completed) or seen (failed) them
            removeOnComplete: false,
            removeOnFail: false
          })).pipe(Effect.asVoid),
      inspect: (jobId) =>
        attempt(`inspect ${jobId}`, async (): Promise<JobView> => {
          // state first: a job read before its state could complete in between, without its result
          const state = await queue.getJobState(jobId)
          if (state === "unknown") return { _tag: "Missing" }
          const job = await Job.fromId(queue, jobId)
          if (job === undefined) return { _tag: "Missing" }
          if (state === "completed") return { _tag: "Completed", result: job.returnvalue }
          if (state === "failed") return { _tag: "Failed", reason: job.failedReason, attemptsMade: job.attemptsMade }
          return { _tag: "Pending", state, attemptsMade: job.attemptsMade }
        }),
      remove: (jobId) => attempt(`remove ${jobId}`, () => queue.remove(jobId)).pipe(Effect.asVoid),
      counts: () => attempt("counts", () => queue.getJobCounts()),
      obliterate: () => attempt("obliterate", () => queue.obliterate({ force: true }))
    }
    return shape
  })

export class EpochQueue extends Context.Service<EpochQueue, EpochQueueShape>()("hecate/EpochQueue") {
  static readonly layer = (settings: QueueSettings): Layer.Layer<EpochQueue, QueueError> =>
    Layer.effect(EpochQueue, Effect.map(makeEpochQueue(settings), (s) => EpochQueue.of(s)))
}

// ------------------------------------------------------------------------------- the worker ---

/** A failure that retrying cannot fix (malformed job, wrong network): the job fails at once. */
export class JobRejected extends Schema.TaggedError<JobRejected>()("JobRejected", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export interface WorkerSettings {
  readonly queue: QueueSettings
  /** Jobs processed at once by this worker. */
  readonly concurrency: number
  /** Worker name, recorded on each job (`processedBy`). */
  readonly name: string
  /** Job lock TTL, renewed every half of it (BullMQ default 30 s). A dead worker's job is retaken after it. */
  readonly lockDuration?: number
  /** How often this worker looks for stalled jobs (BullMQ default 30 s). */
  readonly stalledInterval?: number
  /** Stalls a job survives before it fails (BullMQ default 1; default here 5). */
  readonly maxStalledCount?: number
  /** Worker-level errors (lock renewal failures, connection errors). */
  readonly onError?: (error: Error) => void
}

/** The job as the Effect handler sees it. */
export interface JobContext {
  readonly id: string
  readonly data: unknown
  /** The lock token of this run of the job: writes fenced on it fail once the lock is lost. */
  readonly token: string
  /** Redis key of the job's lock (value = the token of its current holder). */
  readonly lockKey: string
  /** Failed attempts so far. */
  readonly attemptsMade: number
  /** Starts so far, this one included (stalls count too). */
  readonly attemptsStarted: number
}

/**
 * A BullMQ Worker whose processor is the Effect `handler`, run in the layer's context. A typed
 * failure fails the attempt (BullMQ retries it up to the job's `attempts`); `JobRejected` fails the
 * job at once. Closing the layer stops taking jobs and interrupts the running ones without waiting:
 * their locks then expire and other workers take them over (the handler must make a rerun safe).
 */
export const effectWorkerLayer = <A, E, R>(
  settings: WorkerSettings,
  handler: (job: JobContext) => Effect.Effect<A, E, R>
): Layer.Layer<never, QueueError, R> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const run = Effect.runPromiseExitWith(yield* Effect.context<R>())
    const lockKeyOf = (id: string) => `${settings.queue.prefix}:${settings.queue.name}:${id}:lock`
    const processor = async (job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<A> => {
      const id = job.id ?? ""
      const exit = await run(
        handler({
          id,
          data: job.data,
          token: token ?? "",
          lockKey: lockKeyOf(id),
          attemptsMade: job.attemptsMade,
          attemptsStarted: job.attemptsStarted
        }).pipe(Effect.annotateLogs({ job: id, worker: settings.name })),
        signal !== undefined ? { signal } : undefined
      )
      if (Exit.isSuccess(exit)) return exit.value
      if (Cause.hasInterruptsOnly(exit.cause)) throw new Error("interrupted (worker shutting down)")
      const error = Cause.squash(exit.cause)
      const message = errorMessage(error)
      if (error instanceof JobRejected) throw new UnrecoverableError(message)
      throw new Error(message)
    }
    yield* Effect.acquireRelease(
      attempt("start worker", async () => {
        const worker = new Worker(settings.queue.name, processor, {
          connection: settings.queue.connection,
          prefix: settings.queue.prefix,
          concurrency: Math.max(1, settings.concurrency),
          name: settings.name,
          lockDuration: settings.lockDuration ?? 30_000,
          stalledInterval: settings.stalledInterval ?? 30_000,
          maxStalledCount: settings.maxStalledCount ?? 5,
          autorun: false
        })
        worker.on("error", (e) => settings.onError?.(e))
        await worker.waitUntilReady()
        void worker.run().catch((e: unknown) => settings.onError?.(e instanceof Error ? e : new Error(String(e))))
        return worker
      }),
      (worker) =>
        Effect.promise(async () => {
          const closing = worker.close(true)
          worker.cancelAllJobs("worker shutting down")
          await closing.catch(() => undefined)
        })
    )
  }))
