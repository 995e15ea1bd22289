/**
 * The backfill's typed errors. Each carries its exit code (`exitCode`), and each message says what
 * happened and what to do. Codes 10–14 and the message fragments integrators match on ("never
 * delivered here", "no consumer group has registered", "unconsumed data with {n} active consumer
 * group(s)", "{n} epoch(s) failed after retries: {list}") are the Python Hecate's, kept so its
 * operators' scripts keep working. New here:
 *
 *   10  EpochVerificationFailed  an epoch's last block did not match the epoch index (family of 10)
 *   15  ProducerLockHeld         another backfill holds the prefix's single-producer lock
 *   16  EpochIndexInvalid        the epoch data (CSV / cache / derived rows) breaks an invariant
 *   16  EpochNotIndexed          an epoch the run needs is not in the index (derive it first)
 *    1  StoreContractViolation   a call that would break the Redis contract (a bug in the caller)
 */
import { Schema } from "effect"

/** Compact epoch list: [208, 209, 210, 214] → "208–210, 214" (en dash, as the Python Hecate logs). */
export const formatEpochRanges = (epochs: ReadonlyArray<number>): string => {
  const sorted = [...new Set(epochs)].sort((a, b) => a - b)
  const parts: Array<string> = []
  let i = 0
  while (i < sorted.length) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`)
    i = j + 1
  }
  return parts.join(", ")
}

export const EpochFailure = Schema.Struct({ epoch: Schema.Number, reason: Schema.String })
export type EpochFailure = typeof EpochFailure.Type

/** Exit 10: at least one epoch failed every attempt; the healthy epochs of its batch were committed. */
export class EpochsFailed extends Schema.TaggedError<EpochsFailed>()("EpochsFailed", {
  failures: Schema.Array(EpochFailure)
}) {
  readonly exitCode = 10
  override get message(): string {
    const epochs = this.failures.map((f) => f.epoch).sort((a, b) => a - b)
    const reasons = this.failures.map((f) => `epoch ${f.epoch}: ${f.reason}`).join("; ")
    return `${epochs.length} epoch(s) failed after retries: ${epochs.join(", ")} (${reasons}). ` +
      `The healthy epochs were committed; rerun the same command to resume from the first failed epoch.`
  }
}

/** Exit 10 family: the relayed epoch does not end where the epoch index says. */
export class EpochVerificationFailed extends Schema.TaggedError<EpochVerificationFailed>()("EpochVerificationFailed", {
  epoch: Schema.Number,
  /** Which check failed: "hash", "slot", "count", "overrun" (the epoch index), "height", "ancestor", "rollback", "intersection" (the chain). */
  check: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
  /**
   * What the Ogmios node sent, when the blocks themselves do not hold together (a height that
   * skips, a parent hash that is not the previous block's, a rollback inside a finalized epoch):
   * a fault of the node or of what stands between it and Hecate, which no epoch index explains.
   */
  found: Schema.optional(Schema.String)
}) {
  readonly exitCode = 10
  override get message(): string {
    if (this.found !== undefined) {
      return `epoch ${this.epoch} failed verification: ${this.found}. The Ogmios endpoint sent a chain that does not hold ` +
        `together, so nothing of this epoch was committed. Check the Ogmios endpoint (--endpoint / OGMIOS_ENDPOINTS: a ` +
        `node that is not synced or on another chain, or a proxy in the way), then rerun.`
    }
    return `epoch ${this.epoch} failed verification: its last block's ${this.check} is ${this.actual}, the epoch index says ` +
      `${this.expected}. Nothing of this epoch was committed. If the epoch index is wrong, delete its entry from the epoch ` +
      `cache (HECATE_EPOCH_CACHE) so it is derived again; otherwise rerun (the Ogmios node may not have been synced).`
  }
}

/** Exit 11: the window starts above last_synced_epoch + 1 and no rebase was asked for. Nothing written. */
export class UnreachableWindow extends Schema.TaggedError<UnreachableWindow>()("UnreachableWindow", {
  base: Schema.Number,
  startEpoch: Schema.Number
}) {
  readonly exitCode = 11
  override get message(): string {
    const from = this.base + 1
    const to = this.startEpoch - 1
    const gap = from === to ? `epoch ${from} was` : `epochs ${from}–${to} were`
    return `${gap} never delivered here (last_synced_epoch is ${this.base}, the window starts at ${this.startEpoch}), so ` +
      `consumers bounded by last_synced_epoch could never pass the gap. Relay from epoch ${from} (--start-epoch ${from}), ` +
      `or pass --rebase-ordering-base to write the gap off. Nothing was written.`
  }
}

/** Exit 12: the startup purge found a stream holding data that no consumer group ever registered for. */
export class NoRegisteredConsumer extends Schema.TaggedError<NoRegisteredConsumer>()("NoRegisteredConsumer", {
  epoch: Schema.Number,
  streamKey: Schema.String
}) {
  readonly exitCode = 12
  override get message(): string {
    return `cannot purge epoch ${this.epoch} (${this.streamKey}): no consumer group has registered for it, so deleting it ` +
      `would lose data nobody read. Register the consumer group (XGROUP CREATE ${this.streamKey} <group> 0) and let it ` +
      `drain the stream, or pass --purge-orphans to drop unread streams. Nothing was deleted.`
  }
}

/** Exit 13: the startup purge found a stream that registered groups have not fully consumed. */
export class ConsumerNotFinished extends Schema.TaggedError<ConsumerNotFinished>()("ConsumerNotFinished", {
  epoch: Schema.Number,
  streamKey: Schema.String,
  groups: Schema.Array(Schema.String)
}) {
  readonly exitCode = 13
  override get message(): string {
    return `cannot purge epoch ${this.epoch} (${this.streamKey}): unconsumed data with ${this.groups.length} active consumer ` +
      `group(s) (${this.groups.join(", ")}). Wait until every group has read and acknowledged the stream (pending 0, ` +
      `last-delivered-id at the end), then rerun. Nothing was deleted.`
  }
}

/** Exit 14: after the run, last_synced_epoch is unset or below the target. A bug. */
export class OrderingStalled extends Schema.TaggedError<OrderingStalled>()("OrderingStalled", {
  lastSynced: Schema.NullOr(Schema.Number),
  target: Schema.Number
}) {
  readonly exitCode = 14
  override get message(): string {
    return `the ordered commit stalled: last_synced_epoch is ${this.lastSynced ?? "unset"} but the run targeted epoch ` +
      `${this.target}. This is a bug: capture \`hecate status\` (and the ready_set / resume_map keys) and report it; ` +
      `a rerun resumes from last_synced_epoch + 1.`
  }
}

/** Exit 15: another producer holds the prefix (two producers would corrupt each other). */
export class ProducerLockHeld extends Schema.TaggedError<ProducerLockHeld>()("ProducerLockHeld", {
  prefix: Schema.String,
  holder: Schema.String,
  ttlMs: Schema.Number
}) {
  readonly exitCode = 15
  override get message(): string {
    const ttl = this.ttlMs >= 0 ? `expires in ${Math.ceil(this.ttlMs / 1000)} s unless refreshed` : "has no expiry"
    return `another backfill (${this.holder}) is writing to ${this.prefix} (its lock ${ttl}). Two producers on one prefix ` +
      `would delete each other's streams: wait for it to finish, stop it, or use a different --redis-prefix. If it ` +
      `crashed, the lock frees itself when it expires.`
  }
}

/**
 * Exit 15: this backfill held the producer lock and lost it (a Redis outage or a pause longer than
 * its TTL), so another producer may own the prefix now. Every write is fenced on the lock in
 * Redis, so nothing this run sent after losing it was written; it stops instead of going on.
 */
export class ProducerLockLost extends Schema.TaggedError<ProducerLockLost>()("ProducerLockLost", {
  prefix: Schema.String,
  holder: Schema.String
}) {
  readonly exitCode = 15
  override get message(): string {
    return `this backfill lost the producer lock of ${this.prefix} (now held by ${this.holder}), e.g. Redis was unreachable ` +
      `for longer than the lock's TTL (HECATE_LOCK_TTL_MS). It stopped writing; Redis refused every write it sent after ` +
      `losing the lock, so nothing is corrupted. Rerun to resume once the other producer is done (or right away if none is).`
  }
}

/** Exit 16: epoch data (shipped CSVs, the cache, or derived rows) breaks an invariant. */
export class EpochIndexInvalid extends Schema.TaggedError<EpochIndexInvalid>()("EpochIndexInvalid", {
  source: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 16
  override get message(): string {
    return `invalid epoch data in ${this.source}: ${this.detail}`
  }
}

/** Exit 16: the run needs an epoch the index does not hold. */
export class EpochNotIndexed extends Schema.TaggedError<EpochNotIndexed>()("EpochNotIndexed", {
  network: Schema.String,
  epoch: Schema.Number,
  known: Schema.String
}) {
  readonly exitCode = 16
  override get message(): string {
    return `epoch ${this.epoch} is not in the ${this.network} epoch index (known: ${this.known}): derive it from the chain ` +
      `first (it is then cached), or choose a window inside the known range.`
  }
}

/** Exit 1: the caller asked for something that would break the Redis contract (a bug in the caller). */
export class StoreContractViolation extends Schema.TaggedError<StoreContractViolation>()("StoreContractViolation", {
  operation: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 1
  override get message(): string {
    return `${this.operation} refused: ${this.detail}`
  }
}

export type UnsafePurge = NoRegisteredConsumer | ConsumerNotFinished

export type BackfillError =
  | EpochsFailed
  | EpochVerificationFailed
  | UnreachableWindow
  | NoRegisteredConsumer
  | ConsumerNotFinished
  | OrderingStalled
  | ProducerLockHeld
  | EpochIndexInvalid
  | EpochNotIndexed
  | StoreContractViolation
