/**
 * What a backfill tells its user: its progress as log lines, and at the end what was written where
 * and how to look at it (for someone who has just cloned the project, or anyone at a terminal).
 */
import { Effect } from "effect"
import type { BackfillProgress } from "./backfill.js"

/**
 * Progress as log lines, through the command's logger (the context it was created in). A Redis
 * sink commits epochs in order after they are synced (`committed: last_synced_epoch = N`); the
 * stdout / file sinks write each block as it is synced and commit nothing, so their line says
 * where the epoch was written instead.
 */
export const progressLogger = (started: number, log: (effect: Effect.Effect<void>) => void, writtenTo: string | undefined) => {
  let blocks = 0
  return (event: BackfillProgress) => {
    switch (event._tag) {
      case "EpochBatch":
        blocks += event.blocks
        return
      case "EpochSynced": {
        const seconds = (performance.now() - started) / 1000
        return log(Effect.logInfo(
          `epoch ${event.epoch}: ${event.blocks} blocks ${writtenTo === undefined ? "synced" : `written to ${writtenTo}`} ` +
            `(${Math.round(blocks / Math.max(seconds, 1e-3))} blocks/s overall)`
        ))
      }
      case "Committed":
        return writtenTo === undefined ? log(Effect.logInfo(`committed: last_synced_epoch = ${event.lastSyncedEpoch}`)) : undefined
      case "BackpressurePaused":
        return log(Effect.logWarning(`consumers lag ${event.lag} epochs: pausing until they catch up`))
      default:
        return
    }
  }
}

/**
 * After a `--simulator` run into Redis (the demo): what was written where and how to look at it,
 * for someone who has just cloned the project.
 */
export const demoSummary = (options: {
  readonly redisUrl: string
  readonly prefix: string
  /** epochs this run relayed (0: nothing was left to do) */
  readonly relayedEpochs: number
  readonly lowWatermark: number | null
  readonly lastSyncedEpoch: number | null
}): string => {
  const { prefix, lastSyncedEpoch } = options
  if (lastSyncedEpoch === null) return `Nothing is in Redis under ${prefix} yet.`
  const first = Math.min(options.lowWatermark ?? 0, lastSyncedEpoch)
  const streams = first === lastSyncedEpoch ? `${prefix}epoch:${first}` : `${prefix}epoch:${first} … ${prefix}epoch:${lastSyncedEpoch}`
  const where = `Redis at ${options.redisUrl}, one stream per epoch: ${streams}`
  const done = options.relayedEpochs === 0
    ? `Nothing left to do: epochs ${first}..${lastSyncedEpoch} are already in ${where}.`
    : `The blocks are in ${where}.`
  // redis-cli's own default is the same server; a password shows as *** and must be filled in
  const db = options.redisUrl === "redis://127.0.0.1:6379/0" || options.redisUrl === "redis://127.0.0.1:6379" ? "" : ` -u ${options.redisUrl}`
  return [
    done,
    "  Each entry is a batch of blocks (JSON). Look at them:",
    `    redis-cli${db} XLEN ${prefix}epoch:${lastSyncedEpoch}`,
    `    redis-cli${db} XRANGE ${prefix}epoch:${lastSyncedEpoch} - + COUNT 1 | head -c 400`,
    `  The namespace's progress:  npm start -- status --redis-prefix ${prefix}`,
    "  The run history:           npm start -- runs",
    ...(options.relayedEpochs === 0 ? [] : ["Run it again: it resumes and finds nothing left to do."])
  ].join("\n")
}

/**
 * After a run of a sink that does not use Redis: what was written where and how to read it.
 * `output` is the file of `--output` (appended to), undefined for stdout.
 */
export const streamSummary = (options: {
  readonly sink: "jsonl" | "cli"
  readonly output: string | undefined
  readonly format: string
  readonly epochs: number
  readonly blocks: number
  readonly target: number | undefined
}): string => {
  if (options.target === undefined) return "Nothing was written: no epoch was left to relay."
  const what = `${options.blocks} blocks of ${options.epochs} epochs (up to ${options.target})`
  if (options.sink === "cli") return `${what} were printed above, as one table per batch (--sink jsonl writes one JSON block per line instead).`
  if (options.output === undefined) {
    return [
      `${what} were written to stdout, one JSON block per line (${options.format} format).`,
      "  Keep them in a file and look at them:",
      "    npm start -- backfill … --sink jsonl --output blocks.jsonl",
      "    head -n 1 blocks.jsonl | head -c 400"
    ].join("\n")
  }
  return [
    `${what} were appended to ${options.output}, one JSON block per line (${options.format} format).`,
    "  Look at them:",
    `    wc -l ${options.output}`,
    `    tail -n 1 ${options.output} | head -c 400`
  ].join("\n")
}

/** After a run of the redis-list sink: the list it appends to and how to read it. */
export const listSummary = (options: { readonly redisUrl: string; readonly prefix: string; readonly target: number | undefined }): string => {
  const db = options.redisUrl === "redis://127.0.0.1:6379/0" || options.redisUrl === "redis://127.0.0.1:6379" ? "" : ` -u ${options.redisUrl}`
  return [
    `${options.target === undefined ? "Nothing left to do: the blocks are already" : "The blocks are"} in Redis at ${options.redisUrl}, one JSON block per element of the list ${options.prefix}blocks.`,
    "  Look at them:",
    `    redis-cli${db} LLEN ${options.prefix}blocks`,
    `    redis-cli${db} LINDEX ${options.prefix}blocks -1 | head -c 400`
  ].join("\n")
}
