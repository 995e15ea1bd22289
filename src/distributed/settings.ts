/**
 * Where the job queue lives and how workers hold their jobs, from flags and the environment:
 *
 * - `--queue NAME` (default "hecate-backfill"): the BullMQ queue name; coordinator and workers must agree.
 * - HECATE_QUEUE_PREFIX (default "bull"): the BullMQ key prefix (keys `<prefix>:<queue>:…`).
 * - HECATE_WORKER_LOCK_MS (default 30000): a job's lock TTL. A killed worker's epoch is retaken
 *   by another worker after at most this plus the stalled interval.
 * - HECATE_WORKER_STALLED_MS (default 30000): how often workers look for stalled jobs.
 * - HECATE_WORKER_MAX_STALLED (default 5): stalls an epoch job survives before it fails.
 * - HECATE_DISTRIBUTED_POLL_MS (default 1000): how often the coordinator reads job states.
 */
import type { ConnectionOptions } from "bullmq"
import { Effect } from "effect"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import type { QueueSettings } from "./EpochQueue.js"

export const DEFAULT_QUEUE_NAME = "hecate-backfill"
export const DEFAULT_QUEUE_PREFIX = "bull"

const env = (name: string): string | undefined => {
  const raw = process.env[name]?.trim()
  return raw === undefined || raw === "" ? undefined : raw
}

/** An integer environment variable in [min, max], or `fallback` when unset. */
export const intFromEnv = (name: string, fallback: number, min: number, max: number): Effect.Effect<number, InvalidConfiguration> =>
  Effect.suspend(() => {
    const raw = env(name)
    if (raw === undefined) return Effect.succeed(fallback)
    const n = Number(raw)
    return /^\d+$/.test(raw) && n >= min && n <= max
      ? Effect.succeed(n)
      : Effect.fail(new InvalidConfiguration({ variable: name, message: `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)} — e.g. ${name}=${fallback}` }))
  })

export const queueSettingsFromEnv = (
  name: string | undefined,
  connection: ConnectionOptions
): Effect.Effect<QueueSettings, InvalidConfiguration> =>
  Effect.suspend(() => {
    const queueName = name ?? DEFAULT_QUEUE_NAME
    const prefix = env("HECATE_QUEUE_PREFIX") ?? DEFAULT_QUEUE_PREFIX
    if (queueName === "" || queueName.includes(":")) {
      return Effect.fail(new InvalidConfiguration({ variable: "--queue", message: `--queue must be a non-empty name without ":", got ${JSON.stringify(queueName)}` }))
    }
    return Effect.succeed({ name: queueName, prefix, connection })
  })

export interface WorkerLockSettings {
  readonly lockDuration: number
  readonly stalledInterval: number
  readonly maxStalledCount: number
}

export const workerLockSettingsFromEnv: Effect.Effect<WorkerLockSettings, InvalidConfiguration> = Effect.gen(function*() {
  return {
    lockDuration: yield* intFromEnv("HECATE_WORKER_LOCK_MS", 30_000, 500, 3_600_000),
    stalledInterval: yield* intFromEnv("HECATE_WORKER_STALLED_MS", 30_000, 200, 3_600_000),
    maxStalledCount: yield* intFromEnv("HECATE_WORKER_MAX_STALLED", 5, 0, 1_000)
  }
})
