/**
 * A distributed backfill's workers and their jobs, read from its BullMQ queue (read-only): the
 * worker processes connected to the queue (BullMQ names their Redis connections), and the epoch
 * jobs that are running, waiting, delayed for a retry or failed, with the worker that holds each.
 * For the dashboard of `backfill --distributed`.
 */
import { Queue } from "bullmq"
import { redactCredentials } from "../domain/redacted-url.js"
import type { QueueSettings } from "../distributed/EpochQueue.js"

export interface QueueWorker {
  readonly name: string
  readonly address: string
  /** seconds since the worker connected */
  readonly ageSeconds: number | undefined
}

export interface QueueJob {
  readonly epoch: number | undefined
  readonly state: "active" | "waiting" | "delayed" | "failed"
  readonly worker: string | undefined
  /** attempts finished (failed ones, for a job still going) */
  readonly attemptsMade: number
  /** attempts begun, the running one included */
  readonly attemptsStarted: number
  readonly startedAt: string | undefined
  readonly failedReason: string | undefined
}

export interface QueueActivity {
  readonly queue: string
  readonly counts: Readonly<Record<string, number>>
  readonly workers: ReadonlyArray<QueueWorker>
  readonly jobs: ReadonlyArray<QueueJob>
  readonly error?: string
}

/** Jobs listed per state at most (the counts say how many there are). */
const JOBS_PER_STATE = 25

export interface QueueReader {
  readonly read: () => Promise<QueueActivity>
  readonly close: () => Promise<void>
}

export const makeQueueReader = (settings: QueueSettings): QueueReader => {
  let queue: Queue | undefined
  const open = () => {
    if (queue === undefined) {
      queue = new Queue(settings.name, { connection: settings.connection, prefix: settings.prefix })
      queue.on("error", () => {})
    }
    return queue
  }
  const label = `${settings.prefix}:${settings.name}`
  return {
    read: async () => {
      try {
        const q = open()
        const [counts, workers, ...lists] = await Promise.all([
          q.getJobCounts("active", "waiting", "delayed", "failed", "completed"),
          q.getWorkers(),
          ...(["active", "waiting", "delayed", "failed"] as const).map((state) => q.getJobs([state], 0, JOBS_PER_STATE - 1).then((jobs) => ({ state, jobs })))
        ])
        const jobs: Array<QueueJob> = lists.flatMap(({ state, jobs }) =>
          jobs.filter((j) => j !== undefined).map((j) => {
            const epoch = (j.data as { epoch?: unknown } | undefined)?.epoch
            return {
              epoch: typeof epoch === "number" ? epoch : undefined,
              state,
              worker: j.processedBy,
              attemptsMade: j.attemptsMade,
              attemptsStarted: j.attemptsStarted ?? j.attemptsMade,
              startedAt: j.processedOn === undefined ? undefined : new Date(j.processedOn).toISOString(),
              failedReason: j.failedReason === undefined || j.failedReason === "" ? undefined : redactCredentials(j.failedReason)
            }
          })
        )
        jobs.sort((a, b) => (a.epoch ?? 0) - (b.epoch ?? 0))
        return {
          queue: label,
          counts,
          // BullMQ names a worker's connection `<prefix>:<queue, base64>:w:<worker name>` (its `name` is the queue's)
          workers: workers.map((w) => ({
            name: String(w["rawname"] ?? "").split(":w:")[1] ?? String(w["name"] ?? "?"),
            address: String(w["addr"] ?? ""),
            ageSeconds: w["age"] === undefined ? undefined : Number(w["age"])
          })),
          jobs
        }
      } catch (e) {
        return { queue: label, counts: {}, workers: [], jobs: [], error: redactCredentials(e instanceof Error ? e.message : String(e)) }
      }
    },
    close: async () => {
      await queue?.close().catch(() => undefined)
    }
  }
}
