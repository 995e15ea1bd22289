/**
 * Scale-out backfill on BullMQ: the job queue and worker layer as Effect services, the
 * epoch-job processor the `worker` command runs, the coordinator behind `backfill --distributed`,
 * and `clusterSchedule` (once-per-tick schedules across instances). docs/distributed.md.
 */
import { Flag } from "effect/cli"

export { distributedBackfill, type DistributedFlagValues, type DistributedOptions, runDistributedBackfill } from "./coordinator.js"
export {
  effectWorkerLayer,
  EpochQueue,
  type EpochQueueShape,
  type JobContext,
  JobRejected,
  type JobView,
  makeEpochQueue,
  QueueError,
  type QueueSettings,
  type WorkerSettings
} from "./EpochQueue.js"
export { type EpochWorkerOptions, processEpochJob } from "./epoch-worker.js"
export { EpochJob, EpochJobResult, jobIdFor } from "./job.js"
export { clusterSchedule, type ClusterScheduleOptions, removeClusterSchedule, type ScheduledTick } from "./schedule.js"
export { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX, queueSettings, workerLockSettings } from "./settings.js"

/** The backfill command's extra flags: spread into its flags (`...distributedFlags`). */
export const distributedFlags = {
  distributed: Flag.Boolean("distributed").pipe(
    Flag.withDescription("Queue the epochs as BullMQ jobs for `hecate worker` processes (any number of machines) and commit them in order"),
    Flag.withDefault(false)
  ),
  detach: Flag.Boolean("detach").pipe(
    Flag.withDescription("With --distributed: queue what the backpressure allowance permits and exit; rerun to commit and queue the rest"),
    Flag.withDefault(false)
  ),
  queue: Flag.String("queue").pipe(
    Flag.withDescription("With --distributed: the job queue's name (default hecate-backfill; key prefix HECATE_QUEUE_PREFIX, default bull)"),
    Flag.optional
  )
}
