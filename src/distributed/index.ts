/**
 * Scale-out backfill on BullMQ: the job queue and worker layer as Effect services, the
 * epoch-job processor the `worker` command runs, the coordinator behind `backfill --distributed`,
 * and `clusterSchedule` (once-per-tick schedules across instances). docs/distributed.md.
 */
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
export { distributedFlags } from "./flags.js"
