/**
 * Epoch-store writes fenced on the BullMQ job lock. A worker that stalls (GC pause, a frozen VM,
 * a network partition) loses its job's lock; another worker takes the job, resets the epoch and
 * writes it again. Without a fence the first worker, waking up, would go on appending to (or
 * resetting) the stream the second one is writing: duplicates, or a truncated epoch that still
 * completes. So every write of an attempt runs in one Lua script that first checks that the job's
 * lock key still holds this attempt's token, and refuses otherwise (nothing written).
 *
 * The reset and the append are the store's own scripts behind the fence (the producer lock of a
 * local run fences them the same way).
 */
import { Effect } from "effect"
import type { StoreKeys } from "../backfill/store/keys.js"
import { APPEND_SCRIPT, fenced, RESET_SCRIPT, runScript, script } from "../backfill/store/scripts.js"

const COUNT_SCRIPT = script("count", `
return tonumber(redis.call('HGET', KEYS[1], 'blocks_total') or '0')
`)
import type { EncodedBatch } from "../backfill/store/EpochStore.js"
import type { RedisConnection, RedisError } from "../services/Redis.js"

/** KEYS: [stream, meta, resume_map, ready_set, metrics, last_synced_epoch, lock]; ARGV: [N, token]. */
export const FENCED_RESET = fenced(RESET_SCRIPT)

/** KEYS: [stream, resume_map, metrics, meta, lock]; ARGV: [N, data, lastHeight, blockCount, bytes, token]. */
export const FENCED_APPEND = fenced(APPEND_SCRIPT)

/** KEYS: [meta, lock]; ARGV: [token]. Returns the attempt's blocks_total (0 when none). */
export const FENCED_COUNT = fenced(COUNT_SCRIPT)

export interface Fence {
  readonly lockKey: string
  readonly token: string
}

export interface FencedEpochWriter {
  /** resetEpochState behind the fence; "committed" when the epoch is ≤ last_synced_epoch. */
  readonly reset: (epoch: number) => Effect.Effect<"reset" | "committed", RedisError>
  readonly append: (epoch: number, batch: EncodedBatch) => Effect.Effect<void, RedisError>
  /** Blocks the current attempt has written to the epoch (its :meta blocks_total). */
  readonly count: (epoch: number) => Effect.Effect<number, RedisError>
}

export const makeFencedWriter = (redis: RedisConnection, keys: StoreKeys, fence: Fence): FencedEpochWriter => ({
  reset: (epoch) =>
    redis.use(
      (c) =>
        runScript(c, FENCED_RESET, [
          keys.stream(epoch),
          keys.meta(epoch),
          keys.resumeMap,
          keys.readySet,
          keys.metrics,
          keys.lastSyncedEpoch,
          fence.lockKey
        ], [epoch, fence.token]).then(
          () => "reset" as const,
          (e: unknown) => {
            if (e instanceof Error && /already committed/.test(e.message)) return "committed" as const
            throw e
          }
        ),
      `fenced resetEpochState(${epoch})`
    ),
  append: (epoch, batch) =>
    redis.use(
      (c) =>
        runScript(c, FENCED_APPEND, [keys.stream(epoch), keys.resumeMap, keys.metrics, keys.meta(epoch), fence.lockKey], [
          epoch,
          batch.data,
          batch.lastHeight,
          batch.blockCount,
          batch.byteLength ?? Buffer.byteLength(batch.data, "utf8"),
          fence.token
        ]),
      `fenced XADD ${keys.stream(epoch)}`
    ).pipe(Effect.asVoid),
  count: (epoch) =>
    redis.use((c) => runScript(c, FENCED_COUNT, [keys.meta(epoch), fence.lockKey], [fence.token]), `fenced count ${keys.meta(epoch)}`)
      .pipe(Effect.map(Number))
})
