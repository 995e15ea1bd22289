/**
 * EpochStore: the backfill's Redis contract (docs/redis-contract.md), keys per `storeKeys(prefix)`.
 * Consumers written for the Python Hecate work unchanged; the differences are fixes, listed there:
 *
 * - the `epoch_complete` event is emitted once per epoch, when the ordered advance commits it (a
 *   rerun never repeats it), and `event_stream` is capped with XADD MAXLEN ~ (it grew forever);
 * - `resetEpochState` also clears `:meta` and the epoch's ready_set entry, takes the failed
 *   attempt's blocks back out of `metrics.blocks_total`, and refuses a committed epoch;
 * - purge and cleanup classify and delete inside one Lua script (a group registering in between
 *   cannot lose data);
 * - a single-producer lock per prefix, fencing every write of its holder.
 *
 * Opening the store writes nothing: `status()` is read-only.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { Block } from "../../domain/block.js"
import { encodeBlocks, type WireFormat } from "../../domain/wire-format.js"
import { Redis, type RedisConnection, type RedisError } from "../../services/Redis.js"
import {
  ConsumerNotFinished,
  formatEpochRanges,
  NoRegisteredConsumer,
  ProducerLockHeld,
  type ProducerLockLost,
  StoreContractViolation
} from "../errors.js"
import { type BackpressureOptions, waitForBackpressureWith } from "./backpressure.js"
import { DEFAULT_PREFIX, isoTimestamp, type StoreKeys, storeKeys } from "./keys.js"
import { makeProducerLockClient } from "./producer-lock.js"
import {
  ADVANCE_SCRIPT,
  APPEND_SCRIPT,
  APPEND_STAGED_SCRIPT,
  CLASSIFY_SCRIPT,
  CLEANUP_SCRIPT,
  ENSURE_BASE_SCRIPT,
  fenced,
  LOCK_ACQUIRE_SCRIPT,
  LOCK_REFRESH_SCRIPT,
  LOCK_RELEASE_SCRIPT,
  METRICS_SET_SCRIPT,
  PURGE_SCRIPT,
  RESET_SCRIPT,
  runScript,
  type Script,
  type ScriptArg,
  SET_BASE_SCRIPT,
  STAGE_SCRIPT
} from "./scripts.js"

/** One sink batch, already encoded: the entry's `data` and what the bookkeeping needs. */
export interface EncodedBatch {
  /** JSON text of the array of blocks (the entry's `data` field), or its UTF-8 bytes. */
  readonly data: string | Buffer
  readonly blockCount: number
  /** Height of the batch's last block (written to resume_map). */
  readonly lastHeight: number
  /** UTF-8 byte length of `data`; computed when absent. */
  readonly byteLength?: number
  /**
   * Bytes of the batch staged before `data` with `stageBatchPart` (default 0: `data` is the whole
   * batch); `byteLength` is then the whole batch's.
   */
  readonly staged?: number
}

/** How long a staged part outlives its last write: a run that died mid-batch leaves nothing for long. */
export const STAGING_TTL_MS = 60 * 60 * 1000

/** Encodes blocks (ascending height) into an EncodedBatch. */
export const encodeBatch = (blocks: ReadonlyArray<Block>, format: WireFormat = "hecate"): EncodedBatch => {
  const last = blocks[blocks.length - 1]
  if (last === undefined) throw new RangeError("encodeBatch: empty batch")
  const data = encodeBlocks(blocks, format)
  return { data, blockCount: blocks.length, lastHeight: last.height, byteLength: Buffer.byteLength(data, "utf8") }
}

export type StreamState = "absent" | "orphaned" | "consumed" | "unfinished"

export interface StreamClassification {
  readonly epoch: number
  readonly key: string
  readonly state: StreamState
  readonly groups: ReadonlyArray<string>
}

export interface PurgeResult {
  /** Streams that existed in the swept range (consumed or orphaned), all deleted. */
  readonly purged: number
  /** Orphaned epochs dropped under purgeOrphans. */
  readonly orphans: ReadonlyArray<number>
  /** low_watermark after the purge (undefined if it was unset). */
  readonly lowWatermark: number | undefined
}

export interface CleanupResult {
  readonly skipped: boolean
  readonly purged: number
  readonly lowWatermark: number | undefined
  /** The epoch the pass stopped at (not yet consumed), if any. */
  readonly stoppedAt: number | undefined
  readonly stoppedBecause: StreamState | undefined
}

/** The store's status, with the Python Hecate's `get_status()` field names. */
export interface EpochStoreStatus {
  readonly last_synced_epoch: number | null
  readonly low_watermark: number | null
  readonly epochs_individually_completed_pending_sync: number
  readonly epochs_with_active_resume_points: number
  readonly ordering_consistent: boolean
  readonly redis_connection: "ok"
}

export type { BackpressureOptions } from "./backpressure.js"

export interface EpochStoreOptions {
  readonly prefix?: string
  /** Approximate cap of event_stream (XADD MAXLEN ~). Default 10 000 (≈ 137 years of epochs). */
  readonly eventStreamMaxLen?: number
}

export interface EpochStoreShape {
  readonly prefix: string
  readonly keys: StoreKeys

  /** MULTI: SETNX last_synced_epoch = base, SETNX low_watermark = base + 1. Returns the base in force. */
  readonly ensureOrderingBase: (base: number) => Effect.Effect<{ readonly base: number; readonly seeded: boolean }, RedisError | ProducerLockLost>
  /** SET last_synced_epoch = base (only for --rebase-ordering-base, after the purge). */
  readonly resetOrderingBase: (base: number) => Effect.Effect<void, RedisError | ProducerLockLost>
  readonly getLastSyncedEpoch: () => Effect.Effect<number | undefined, RedisError>
  readonly getLowWatermark: () => Effect.Effect<number | undefined, RedisError>
  /** resume_map[epoch]: the last relayed height of an epoch in flight. */
  readonly getEpochResumeHeight: (epoch: number) => Effect.Effect<number | undefined, RedisError>

  /** Start of an attempt: clears the epoch's stream, :meta, resume entry, ready entry, metric blocks. */
  readonly resetEpochState: (epoch: number) => Effect.Effect<void, RedisError | StoreContractViolation | ProducerLockLost>
  /**
   * MULTI: XADD the batch entry, HSET resume_map, HINCRBY metrics.blocks_total and :meta counters.
   * With `batch.staged` > 0, the entry's data is the staged parts followed by `batch.data`.
   */
  readonly appendBatch: (epoch: number, batch: EncodedBatch) => Effect.Effect<void, RedisError | ProducerLockLost>
  /**
   * Stages a part of epoch `epoch`'s next batch (`staged` bytes of it staged before; 0 starts a
   * batch), so the producer holds a part of a batch in memory, not all of it. Fails when the
   * staged length is not `staged` (a part is missing): the attempt fails and is retried.
   */
  readonly stageBatchPart: (epoch: number, data: Buffer, staged: number) => Effect.Effect<void, RedisError | ProducerLockLost>
  /**
   * Phase 2: the epoch is complete with last block `lastHeight`; atomically ready it and advance
   * last_synced_epoch over every contiguous ready epoch (one epoch_complete event each). Returns
   * the new last_synced_epoch. Fails with StoreContractViolation when the base is unset.
   */
  readonly markEpochComplete: (epoch: number, lastHeight: number) => Effect.Effect<number, RedisError | StoreContractViolation | ProducerLockLost>

  readonly classifyStream: (epoch: number) => Effect.Effect<StreamClassification, RedisError>
  /** Startup purge of [low_watermark, upTo): all-or-nothing, atomic. */
  readonly purgeStaleStreams: (
    upTo: number,
    options?: { readonly purgeOrphans?: boolean }
  ) => Effect.Effect<PurgeResult, RedisError | NoRegisteredConsumer | ConsumerNotFinished | ProducerLockLost>
  /** One background cleanup pass; the caller schedules it (80 s, then every 45 s). */
  readonly cleanupPass: () => Effect.Effect<CleanupResult, RedisError | ProducerLockLost>

  /** last_synced_epoch − low_watermark, 0 if either is unset. */
  readonly unconsumedLag: () => Effect.Effect<number, RedisError>
  /** HSET backpressure_paused "1" + since ISO, or "0" + "". */
  readonly setBackpressurePaused: (paused: boolean) => Effect.Effect<void, RedisError | ProducerLockLost>
  /** Sleeps while lag ≥ max, flagging the pause on its edges. */
  readonly waitForBackpressure: (options?: BackpressureOptions) => Effect.Effect<void, RedisError | ProducerLockLost>

  readonly status: () => Effect.Effect<EpochStoreStatus, RedisError>

  /** Take the prefix's producer lock (or extend it if `owner` already holds it). */
  readonly acquireProducerLock: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld>
  /** Extend the lock; ProducerLockHeld if it expired and someone else took it (or nobody holds it). */
  readonly refreshProducerLock: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld>
  /** Compare-and-delete; false if the lock was not ours. */
  readonly releaseProducerLock: (owner: string) => Effect.Effect<boolean, RedisError>
  /**
   * Acquire now, refresh every ttl/3 in the background, release when the scope closes. While the
   * lock is held every write of this store is fenced on it in Redis (a write after the lock was
   * lost fails with ProducerLockLost, nothing written), and a refresh that finds the lock gone or
   * taken over completes `producerLockLost`.
   */
  readonly holdProducerLock: (owner: string, ttlMs: number) => Effect.Effect<void, RedisError | ProducerLockHeld, Scope.Scope>
  /** Fails with ProducerLockLost when this store's lock is lost after the call (never completes otherwise). */
  readonly producerLockLost: () => Effect.Effect<never, ProducerLockLost>

  /** HSET metrics last_heartbeat_ts (fenced, like every write of a lock holder). */
  readonly heartbeat: () => Effect.Effect<void, RedisError | ProducerLockLost>
  /** HSET workers_active / workers_max at batch start. */
  readonly noteBatchStarted: (active: number, maximum: number) => Effect.Effect<void, RedisError | ProducerLockLost>
  /** HSET workers_active "0". */
  readonly noteBatchFinished: () => Effect.Effect<void, RedisError | ProducerLockLost>
}

const toInt = (v: unknown): number | undefined => {
  if (v === null || v === undefined) return undefined
  const n = Number(typeof v === "string" || typeof v === "number" ? v : String(v))
  return Number.isFinite(n) ? n : undefined
}

/** The logs of a purge that went ahead, and its result (shared with the in-memory store). */
export const reportPurge = (upTo: number, purged: number, orphans: ReadonlyArray<number>): Effect.Effect<PurgeResult> =>
  Effect.gen(function*() {
    if (orphans.length > 0) {
      yield* Effect.logWarning(`Purged orphaned epoch stream(s) nobody registered for: ${formatEpochRanges(orphans)}`)
    }
    if (purged === 0) yield* Effect.logInfo(`No epoch streams present below ${upTo}`)
    else yield* Effect.logInfo(`Purged ${purged} epoch stream(s) below ${upTo}`)
    return { purged, orphans, lowWatermark: upTo }
  })

/** Builds the store over a connection (the service's, or a `duplicate()` for a cleanup loop). */
export const makeEpochStore = (redis: RedisConnection, options: EpochStoreOptions = {}): EpochStoreShape => {
  const keys = storeKeys(options.prefix ?? DEFAULT_PREFIX)
  const eventMaxLen = options.eventStreamMaxLen ?? 10_000
  const run = (s: Script, ks: ReadonlyArray<string>, args: ReadonlyArray<ScriptArg>, what: string) =>
    redis.use((c) => runScript(c, s, ks, args), what)

  /** A write: fenced on the producer lock while this store holds it. */
  const write = (s: Script, ks: ReadonlyArray<string>, args: ReadonlyArray<ScriptArg>, what: string) => {
    const token = lock.token()
    if (token === undefined) return run(s, ks, args, what)
    return run(fenced(s), [...ks, keys.producerLock], [...args, token], what).pipe(
      Effect.catchTag("RedisError", (e): Effect.Effect<never, RedisError | ProducerLockLost> => {
        const refused = /FENCED the lock \S+ is held by (.+?), not by /.exec(e.detail)
        return Effect.fail(refused === null ? e : lock.lose(refused[1]!))
      })
    )
  }

  /** The run's own metrics fields: fenced too, so a run that lost the lock cannot stamp over its successor's. */
  const setMetrics = (pairs: ReadonlyArray<string>, what: string) => write(METRICS_SET_SCRIPT, [keys.metrics], [pairs.length / 2, ...pairs], what)

  const getInt = (key: string) => Effect.map(redis.use((c) => c.get(key), `GET ${key}`), toInt)

  const ensureOrderingBase = Effect.fn("EpochStore.ensureOrderingBase")(function*(base: number) {
    const reply = (yield* write(ENSURE_BASE_SCRIPT, [keys.lastSyncedEpoch, keys.lowWatermark], [base], "ensureOrderingBase (SETNX)")) as [
      number,
      string | null
    ]
    return { base: toInt(reply[1]) ?? base, seeded: Number(reply[0]) === 1 }
  })

  const resetOrderingBase = Effect.fn("EpochStore.resetOrderingBase")(function*(base: number) {
    yield* write(SET_BASE_SCRIPT, [keys.lastSyncedEpoch], [base], "resetOrderingBase (SET last_synced_epoch)")
  })

  const resetEpochState = Effect.fn("EpochStore.resetEpochState")(function*(epoch: number) {
    yield* write(
      RESET_SCRIPT,
      [keys.stream(epoch), keys.meta(epoch), keys.resumeMap, keys.readySet, keys.metrics, keys.lastSyncedEpoch],
      [epoch],
      `resetEpochState(${epoch})`
    ).pipe(
      Effect.mapError((e): RedisError | StoreContractViolation | ProducerLockLost =>
        e._tag === "RedisError" && /already committed/.test(e.detail)
          ? new StoreContractViolation({
            operation: `resetEpochState(${epoch})`,
            detail: `epoch ${epoch} is already committed (≤ last_synced_epoch): its stream is published to consumers and must not be rewritten`
          })
          : e)
    )
  })

  const appendBatch = Effect.fn("EpochStore.appendBatch")(function*(epoch: number, batch: EncodedBatch) {
    const staged = batch.staged ?? 0
    const bytes = batch.byteLength ?? staged + Buffer.byteLength(batch.data, "utf8")
    const stream = keys.stream(epoch)
    yield* staged === 0
      ? write(
        APPEND_SCRIPT,
        [stream, keys.resumeMap, keys.metrics, keys.meta(epoch)],
        [epoch, batch.data, batch.lastHeight, batch.blockCount, bytes],
        `XADD ${stream}`
      )
      : write(
        APPEND_STAGED_SCRIPT,
        [stream, keys.resumeMap, keys.metrics, keys.meta(epoch), keys.staging(epoch)],
        [epoch, batch.data, batch.lastHeight, batch.blockCount, bytes, staged],
        `XADD ${stream} (staged)`
      )
  })

  const stageBatchPart = Effect.fn("EpochStore.stageBatchPart")(function*(epoch: number, data: Buffer, staged: number) {
    yield* write(STAGE_SCRIPT, [keys.staging(epoch)], [data, staged, STAGING_TTL_MS], `APPEND ${keys.staging(epoch)}`)
  })

  const markEpochComplete = Effect.fn("EpochStore.markEpochComplete")(function*(epoch: number, lastHeight: number) {
    const reply = yield* write(
      ADVANCE_SCRIPT,
      [keys.lastSyncedEpoch, keys.readySet, keys.resumeMap, keys.eventStream, keys.metrics, keys.stream(epoch), keys.meta(epoch)],
      [epoch, lastHeight, eventMaxLen],
      `markEpochComplete(${epoch})`
    ).pipe(
      Effect.mapError((e): RedisError | StoreContractViolation | ProducerLockLost =>
        e._tag === "RedisError" && /last_synced_epoch is unset/.test(e.detail)
          ? new StoreContractViolation({
            operation: `markEpochComplete(${epoch})`,
            detail: `${keys.lastSyncedEpoch} is unset: call ensureOrderingBase first (nothing was written)`
          })
          : e)
    )
    const [synced, accepted] = reply as [number, number, number]
    if (accepted === 0) {
      yield* Effect.logDebug(`epoch ${epoch} was already committed (last_synced_epoch ${synced}); no new event`)
    }
    return Number(synced)
  })

  const classifyStream = Effect.fn("EpochStore.classifyStream")(function*(epoch: number) {
    const key = keys.stream(epoch)
    const reply = (yield* run(CLASSIFY_SCRIPT, [key], [], `classify ${key}`)) as Array<string>
    return { epoch, key, state: reply[0] as StreamState, groups: reply.slice(1) }
  })

  const purgeStaleStreams = Effect.fn("EpochStore.purgeStaleStreams")(function*(
    upTo: number,
    opts?: { readonly purgeOrphans?: boolean }
  ) {
    const reply = (yield* write(
      PURGE_SCRIPT,
      [keys.lowWatermark, keys.resumeMap, keys.readySet],
      [keys.epochPrefix, upTo, opts?.purgeOrphans === true ? "1" : "0"],
      `purgeStaleStreams(${upTo})`
    )) as Array<string | number>
    const tag = reply[0]
    if (tag === "orphan") {
      return yield* new NoRegisteredConsumer({ epoch: Number(reply[1]), streamKey: String(reply[2]) })
    }
    if (tag === "unfinished") {
      return yield* new ConsumerNotFinished({ epoch: Number(reply[1]), streamKey: String(reply[2]), groups: reply.slice(3).map(String) })
    }
    if (tag === "noop") {
      return { purged: 0, orphans: [], lowWatermark: yield* getInt(keys.lowWatermark) }
    }
    return yield* reportPurge(upTo, Number(reply[1]), reply.slice(2).map(Number))
  })

  const cleanupPass = Effect.fn("EpochStore.cleanupPass")(function*() {
    const reply = (yield* write(
      CLEANUP_SCRIPT,
      [keys.lowWatermark, keys.lastSyncedEpoch, keys.metrics],
      [keys.epochPrefix, isoTimestamp()],
      "cleanupPass"
    )) as Array<string | number>
    if (reply[0] === "skipped") {
      return { skipped: true, purged: 0, lowWatermark: undefined, stoppedAt: undefined, stoppedBecause: undefined }
    }
    const stopped = Number(reply[3])
    return {
      skipped: false,
      purged: Number(reply[1]),
      lowWatermark: toInt(reply[2]),
      stoppedAt: stopped >= 0 ? stopped : undefined,
      stoppedBecause: stopped >= 0 ? (String(reply[4]) as StreamState) : undefined
    }
  })

  const unconsumedLag = Effect.fn("EpochStore.unconsumedLag")(function*() {
    const [ls, lw] = yield* redis.use((c) => c.mget(keys.lastSyncedEpoch, keys.lowWatermark), "unconsumedLag (MGET)")
    const a = toInt(ls)
    const b = toInt(lw)
    return a === undefined || b === undefined ? 0 : a - b
  })

  const setBackpressurePaused = Effect.fn("EpochStore.setBackpressurePaused")(function*(paused: boolean) {
    yield* setMetrics(["backpressure_paused", paused ? "1" : "0", "backpressure_paused_since", paused ? isoTimestamp() : ""], "HSET backpressure_paused")
  })

  const status = Effect.fn("EpochStore.status")(function*() {
    const replies = yield* redis.use(
      (c) => c.multi().get(keys.lastSyncedEpoch).get(keys.lowWatermark).scard(keys.readySet).hlen(keys.resumeMap).exec(),
      "status"
    )
    const ls = toInt(replies?.[0]?.[1]) ?? null
    const lw = toInt(replies?.[1]?.[1]) ?? null
    return {
      last_synced_epoch: ls,
      low_watermark: lw,
      epochs_individually_completed_pending_sync: toInt(replies?.[2]?.[1]) ?? 0,
      epochs_with_active_resume_points: toInt(replies?.[3]?.[1]) ?? 0,
      ordering_consistent: ls === null || lw === null || lw <= ls + 1,
      redis_connection: "ok" as const
    }
  })

  const lockHeld = (reply: Array<string | number>) =>
    new ProducerLockHeld({ prefix: keys.prefix, holder: String(reply[1] ?? "") || "nobody (expired)", ttlMs: Number(reply[2] ?? -2) })

  // The lock operations; the client around them (src/backfill/store/producer-lock.ts) keeps the fence.
  const lock = makeProducerLockClient(keys.prefix, {
    acquire: Effect.fn("EpochStore.acquireProducerLock")(function*(owner: string, ttlMs: number) {
      const reply = (yield* run(LOCK_ACQUIRE_SCRIPT, [keys.producerLock], [owner, Math.max(1, Math.round(ttlMs))], "acquireProducerLock")) as Array<string | number>
      if (Number(reply[0]) !== 1) return yield* lockHeld(reply)
    }),
    refresh: Effect.fn("EpochStore.refreshProducerLock")(function*(owner: string, ttlMs: number) {
      const reply = (yield* run(LOCK_REFRESH_SCRIPT, [keys.producerLock], [owner, Math.max(1, Math.round(ttlMs))], "refreshProducerLock")) as Array<string | number>
      if (Number(reply[0]) !== 1) return yield* lockHeld(reply)
    }),
    release: Effect.fn("EpochStore.releaseProducerLock")(function*(owner: string) {
      const n = yield* run(LOCK_RELEASE_SCRIPT, [keys.producerLock], [owner], "releaseProducerLock")
      return Number(n) === 1
    })
  })

  const heartbeat = Effect.fn("EpochStore.heartbeat")(function*() {
    yield* setMetrics(["last_heartbeat_ts", isoTimestamp()], "HSET last_heartbeat_ts")
  })

  const noteBatchStarted = Effect.fn("EpochStore.noteBatchStarted")(function*(active: number, maximum: number) {
    yield* setMetrics(["workers_active", String(active), "workers_max", String(maximum)], "HSET workers_active")
  })

  const noteBatchFinished = Effect.fn("EpochStore.noteBatchFinished")(function*() {
    yield* setMetrics(["workers_active", "0"], "HSET workers_active")
  })

  return {
    prefix: keys.prefix,
    keys,
    ensureOrderingBase,
    resetOrderingBase,
    getLastSyncedEpoch: () => getInt(keys.lastSyncedEpoch),
    getLowWatermark: () => getInt(keys.lowWatermark),
    getEpochResumeHeight: (epoch) =>
      Effect.map(redis.use((c) => c.hget(keys.resumeMap, String(epoch)), `HGET ${keys.resumeMap}`), toInt),
    resetEpochState,
    appendBatch,
    stageBatchPart,
    markEpochComplete,
    classifyStream,
    purgeStaleStreams,
    cleanupPass,
    unconsumedLag,
    setBackpressurePaused,
    waitForBackpressure: (opts) => waitForBackpressureWith({ unconsumedLag, setBackpressurePaused }, opts),
    status,
    acquireProducerLock: lock.acquire,
    refreshProducerLock: lock.refresh,
    releaseProducerLock: lock.release,
    holdProducerLock: lock.hold,
    producerLockLost: lock.lost,
    heartbeat,
    noteBatchStarted,
    noteBatchFinished
  }
}

export class EpochStore extends Context.Service<EpochStore, EpochStoreShape>()("hecate/EpochStore") {
  /** `EpochStore.layer({ prefix })` over the Redis service (default prefix "hecate:history:"). */
  static readonly layer = (options: EpochStoreOptions = {}): Layer.Layer<EpochStore, never, Redis> =>
    Layer.effect(
      EpochStore,
      Effect.gen(function*() {
        const redis = yield* Redis
        return EpochStore.of(makeEpochStore(redis, options))
      })
    )
}
