/**
 * Where the job queue lives and how workers hold their jobs, from flags and the settings (the
 * variables are validated in the settings table, src/config/settings.ts):
 *
 * - `--queue NAME` (default "hecate-backfill"): the BullMQ queue name; coordinator and workers must agree.
 * - HECATE_QUEUE_PREFIX (default "bull"): the BullMQ key prefix (keys `<prefix>:<queue>:…`; BullMQ
 *   adds the colon itself, so a prefix written like the others, `hecate:queue:`, loses its trailing
 *   colon instead of giving `hecate:queue::<queue>` keys).
 * - HECATE_WORKER_LOCK_MS (default 30000): a job's lock TTL. A killed worker's epoch is retaken
 *   by another worker after at most this plus the stalled interval.
 * - HECATE_WORKER_STALLED_MS (default 30000): how often workers look for stalled jobs.
 * - HECATE_WORKER_MAX_STALLED (default 5): stalls an epoch job survives before it fails.
 * - HECATE_DISTRIBUTED_POLL_MS (default 1000): how often the coordinator reads job states.
 */
import type { ConnectionOptions } from "bullmq"
import { Effect } from "effect"
import { defaults, type HecateSettings, InvalidConfiguration } from "../services/HecateConfig.js"
import type { QueueSettings } from "./EpochQueue.js"

export const DEFAULT_QUEUE_NAME = "hecate-backfill"
/** HECATE_QUEUE_PREFIX's default (the settings table holds it). */
export const DEFAULT_QUEUE_PREFIX = defaults.queuePrefix

/** HECATE_QUEUE_PREFIX as BullMQ joins it (`<prefix>:<queue>`): without trailing colons. */
export const bullPrefix = (prefix: string): string => prefix.replace(/:+$/, "") || prefix

/** The queue of `--queue NAME` under the key prefix HECATE_QUEUE_PREFIX (from the settings). */
export const queueSettings = (
  name: string | undefined,
  prefix: string,
  connection: ConnectionOptions
): Effect.Effect<QueueSettings, InvalidConfiguration> =>
  Effect.suspend(() => {
    const queueName = name ?? DEFAULT_QUEUE_NAME
    if (queueName === "" || queueName.includes(":")) {
      return Effect.fail(new InvalidConfiguration({ variable: "--queue", message: `--queue must be a non-empty name without ":", got ${JSON.stringify(queueName)} — e.g. --queue ${DEFAULT_QUEUE_NAME}` }))
    }
    return Effect.succeed({ name: queueName, prefix: bullPrefix(prefix), connection })
  })

export interface WorkerLockSettings {
  readonly lockDuration: number
  readonly stalledInterval: number
  readonly maxStalledCount: number
}

/** HECATE_WORKER_LOCK_MS / _STALLED_MS / _MAX_STALLED, validated in the settings table. */
export const workerLockSettings = (
  settings: Pick<HecateSettings, "workerLockMs" | "workerStalledMs" | "workerMaxStalled">
): WorkerLockSettings => ({
  lockDuration: settings.workerLockMs,
  stalledInterval: settings.workerStalledMs,
  maxStalledCount: settings.workerMaxStalled
})
