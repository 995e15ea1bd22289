/**
 * What travels through the BullMQ queue: one job per epoch. Job data is untyped JSON on the
 * wire, so both directions are Schemas, decoded where they are read (the worker decodes the job,
 * the coordinator decodes the result).
 *
 * A job carries everything a worker needs — the Redis prefix to write under, the network it was
 * planned for, the previous epoch's last block (the intersection) and the epoch's row (what it
 * must verify to) — so workers need neither the epoch index nor any per-machine state: any
 * number of them, anywhere, with their own Ogmios endpoints.
 */
import { Schema } from "effect"

export const EpochRowSchema = Schema.Struct({
  epoch: Schema.Int,
  startHeight: Schema.Int,
  startSlot: Schema.Int,
  startHash: Schema.String,
  endHeight: Schema.Int,
  endSlot: Schema.Int,
  endHash: Schema.String,
  blocks: Schema.Int
})

export const EpochJob = Schema.Struct({
  /** Job format version: a worker refuses (unrecoverably) a format it does not know. */
  v: Schema.Literal(1),
  /** The Hecate Redis prefix (e.g. "hecate:history:") the epoch stream goes under. */
  prefix: Schema.String,
  /** The network id the coordinator planned for (see backfill/network.ts). */
  network: Schema.String,
  epoch: Schema.Int,
  /** The previous epoch's last block: the session intersects there (height -1 = origin). */
  anchor: Schema.Struct({ endSlot: Schema.Int, endHash: Schema.String, endHeight: Schema.Int }),
  expected: EpochRowSchema,
  batchSize: Schema.Int,
  inFlight: Schema.Int,
  format: Schema.Literals(["hecate", "ogmios"]),
  /** The coordinator's run: workers add their lines for the job to its log (runs.ts). */
  run: Schema.optional(Schema.Struct({ id: Schema.String, prefix: Schema.String }))
})
export type EpochJob = typeof EpochJob.Type

export const decodeEpochJob = Schema.decodeUnknownEffect(EpochJob)

/** What a worker reports when the epoch's stream is written and verified. */
export const EpochJobResult = Schema.Struct({
  epoch: Schema.Int,
  blocks: Schema.Int,
  lastHeight: Schema.Int,
  bytes: Schema.Number,
  /** The epoch was already committed (≤ last_synced_epoch) when the job ran: nothing written. */
  alreadyCommitted: Schema.Boolean,
  /** BullMQ worker name (host:pid/…), for progress and post-mortems. */
  worker: Schema.String,
  /** Which start of the job this was (1 = first; stalls and retries count). */
  attempt: Schema.Int,
  /** The endpoint the successful attempt started with. */
  endpoint: Schema.String,
  /** Milliseconds the attempt took. */
  ms: Schema.Number
})
export type EpochJobResult = typeof EpochJobResult.Type

export const decodeEpochJobResult = Schema.decodeUnknownEffect(EpochJobResult)

/**
 * The job id of `epoch` under Hecate prefix `prefix`: the prefix + "epoch-" + N, with the prefix's
 * ":" escaped (BullMQ refuses custom ids containing ":"). Deterministic, so re-enqueueing an epoch
 * that is still waiting, running or completed returns the existing job instead of a second one.
 */
export const jobIdFor = (prefix: string, epoch: number): string =>
  `${prefix.replaceAll("%", "%25").replaceAll(":", "%3A")}epoch-${epoch}`

/** BullMQ job name of epoch jobs (the queue could carry other kinds later). */
export const EPOCH_JOB_NAME = "epoch"
