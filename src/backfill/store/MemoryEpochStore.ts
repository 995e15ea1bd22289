/**
 * An in-memory EpochStore: the backfill's Redis contract (src/backfill/store/scripts.ts, keys per
 * keys.ts) held in plain maps, for unit tests of pipelines that end in epoch streams (users' and
 * ours) with no Redis. It keeps the namespace as Redis would, key by key (strings, hashes, sets,
 * streams with their consumer groups, the producer lock with its expiry), and each operation
 * follows its Lua script step for step, so the same calls give the same answers, errors and
 * content; `test/backfill/epoch-store.contract.test.ts` runs both side by side and compares them.
 *
 * The consumer side is modelled too, because what a consumer did decides the classification, the
 * cleanup and the backpressure: `createGroup` / `readGroup` / `ack` / `pending` / `groups` are
 * XGROUP CREATE, XREADGROUP, XACK, XPENDING and XINFO GROUPS on the stream of an epoch.
 *
 * Where it differs from Redis, by design: entry ids come from the Effect `Clock` (a TestClock
 * works; ids are not those Redis would give); the event stream is trimmed to exactly
 * `eventStreamMaxLen` where Redis trims approximately (it keeps at least as many); single entries
 * are never deleted (no XDEL / XTRIM of epoch streams, which nothing in the contract does), so a
 * group's lag is Redis's count without tombstones (unknown, as in Redis, for a group created at
 * `$` once entries follow); a group's consumers are not listed, only its pending entries.
 */
import { Clock, Effect, Layer, Schema } from "effect"
import type { MemoryEntry } from "../../relay/MemoryRelayStore.js"
import { ConsumerNotFinished, NoRegisteredConsumer, ProducerLockHeld, type ProducerLockLost, StoreContractViolation } from "../errors.js"
import { waitForBackpressureWith } from "./backpressure.js"
import {
  type CleanupResult,
  type EncodedBatch,
  EpochStore,
  type EpochStoreOptions,
  type EpochStoreShape,
  type EpochStoreStatus,
  type PurgeResult,
  reportPurge,
  STAGING_TTL_MS,
  type StreamClassification,
  type StreamState
} from "./EpochStore.js"
import { DEFAULT_PREFIX, isoTimestamp, type StoreKeys, storeKeys } from "./keys.js"
import { makeProducerLockClient } from "./producer-lock.js"
import { RedisError } from "../../services/Redis.js"

export type { MemoryEntry } from "../../relay/MemoryRelayStore.js"

/** What Redis would answer a consumer command with an error reply (BUSYGROUP, NOGROUP, no such key). */
export class MemoryStreamError extends Schema.TaggedError<MemoryStreamError>()("MemoryStreamError", {
  command: Schema.String,
  /** The Redis error reply, e.g. "BUSYGROUP Consumer Group name already exists". */
  reply: Schema.String
}) {
  override get message(): string {
    return `${this.command}: ${this.reply}`
  }
}

/** A consumer group as XINFO GROUPS / XPENDING show it. */
export interface MemoryGroupInfo {
  readonly name: string
  readonly lastDeliveredId: string
  /** Entries delivered and not acknowledged, ascending id: [id, consumer, times delivered]. */
  readonly pending: ReadonlyArray<readonly [id: string, consumer: string, deliveries: number]>
  /** XINFO's entries-read: what Redis counts of the entries delivered to the group (null: not known). */
  readonly entriesRead: number | null
  /** XINFO's lag: entries added − entries read (null when Redis cannot tell, e.g. a group created at `$` before later entries). */
  readonly lag: number | null
}

export interface MemoryStreamState {
  readonly entries: ReadonlyArray<MemoryEntry>
  readonly lastGeneratedId: string
  readonly groups: ReadonlyArray<MemoryGroupInfo>
}

/** The namespace as Redis would hold it, values as strings (copies). */
export interface MemoryEpochState {
  readonly lastSyncedEpoch: string | null
  readonly lowWatermark: string | null
  /** ready_set members, ascending. */
  readonly readySet: ReadonlyArray<string>
  readonly resumeMap: Readonly<Record<string, string>>
  /** The epoch streams that exist, by epoch. */
  readonly streams: Readonly<Record<string, MemoryStreamState>>
  /** The `:meta` hashes that exist, by epoch. */
  readonly meta: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly events: ReadonlyArray<MemoryEntry>
  readonly metrics: Readonly<Record<string, string>>
  /** The lock as stored: an expired lock is shown until the next operation that looks at it. */
  readonly producerLock: { readonly holder: string; readonly expiresAtMs: number | undefined } | null
  /** The bytes staged of each epoch's batch being written (absent when nothing is staged). */
  readonly staging?: Readonly<Record<string, number>>
}

export interface MemoryEpochStore extends EpochStoreShape {
  /** What the namespace holds now, for assertions. */
  readonly state: () => MemoryEpochState
  /** Another client of the same namespace with its own producer-lock fence, like a second `makeEpochStore` on the prefix. */
  readonly connect: () => MemoryEpochStore

  /** XGROUP CREATE stream(epoch) group from: "0" (the contract's) or "$" (only what comes later) or an id. */
  readonly createGroup: (epoch: number, group: string, from?: string) => Effect.Effect<void, MemoryStreamError>
  /**
   * XREADGROUP GROUP group consumer COUNT count STREAMS stream(epoch) from: ">" delivers entries
   * the group has not seen (they become pending for `consumer`); an id returns the consumer's own
   * pending entries after it (a restarted consumer reads "0" first).
   */
  readonly readGroup: (
    epoch: number,
    group: string,
    consumer: string,
    options?: { readonly count?: number; readonly from?: string }
  ) => Effect.Effect<ReadonlyArray<MemoryEntry>, MemoryStreamError>
  /** XACK: the number of the ids that were pending in the group. */
  readonly ack: (epoch: number, group: string, ...ids: ReadonlyArray<string>) => Effect.Effect<number>
  /** XPENDING stream(epoch) group - + n: the group's pending entries (empty if there is no such group). */
  readonly pending: (epoch: number, group: string) => Effect.Effect<MemoryGroupInfo["pending"]>
  /** XINFO GROUPS stream(epoch), by name (empty if the stream does not exist). */
  readonly groups: (epoch: number) => Effect.Effect<ReadonlyArray<MemoryGroupInfo>>
  /**
   * Another process writes the lock key: SET holder (PX ttlMs) or, with `undefined`, DEL. For
   * tests of a lock taken over or gone (`ttlMs` absent: a lock without expiry).
   */
  readonly setProducerLock: (holder: string | undefined, ttlMs?: number) => Effect.Effect<void>
}

// ------------------------------------------------------------------------------ the key space ---

interface Id {
  readonly ms: number
  readonly seq: number
}
const ZERO: Id = { ms: 0, seq: 0 }
const idText = (id: Id) => `${id.ms}-${id.seq}`
const compareIds = (a: Id, b: Id) => a.ms - b.ms || a.seq - b.seq
const parseId = (text: string): Id | undefined => {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text)
  return m === null ? undefined : { ms: Number(m[1]), seq: Number(m[2] ?? "0") }
}

interface Group {
  lastDelivered: Id
  /** Redis's entries_read counter; undefined is its "invalid" (unknown) */
  entriesRead: number | undefined
  /** id text → consumer and delivery count, in id order */
  readonly pending: Map<string, { consumer: string; deliveries: number }>
}

interface Stream {
  readonly entries: Array<{ readonly id: Id; readonly fields: ReadonlyArray<string> }>
  lastId: Id
  /** every XADD ever, trimmed entries included (Redis's entries-added) */
  added: number
  readonly groups: Map<string, Group>
}

type Value =
  | { readonly type: "string"; value: string; expiresAt: number | undefined }
  | { readonly type: "hash"; readonly fields: Map<string, string> }
  | { readonly type: "set"; readonly members: Set<string> }
  | { readonly type: "stream"; readonly stream: Stream }

/** The keys of one Redis database, with Redis's rules: an emptied hash or set is gone, an expired key too. */
class KeySpace {
  readonly keys = new Map<string, Value>()

  private live(key: string, now: number): Value | undefined {
    const v = this.keys.get(key)
    if (v?.type === "string" && v.expiresAt !== undefined && now > v.expiresAt) {
      this.keys.delete(key)
      return undefined
    }
    return v
  }
  exists(key: string, now: number) {
    return this.live(key, now) !== undefined
  }
  del(...keys: ReadonlyArray<string>) {
    for (const k of keys) this.keys.delete(k)
  }
  get(key: string, now: number): string | undefined {
    const v = this.live(key, now)
    return v?.type === "string" ? v.value : undefined
  }
  set(key: string, value: string, expiresAt?: number) {
    this.keys.set(key, { type: "string", value, expiresAt })
  }
  setnx(key: string, value: string, now: number): boolean {
    if (this.exists(key, now)) return false
    this.set(key, value)
    return true
  }
  /** PTTL: −2 no key, −1 no expiry. */
  pttl(key: string, now: number): number {
    const v = this.live(key, now)
    if (v === undefined) return -2
    return v.type === "string" && v.expiresAt !== undefined ? v.expiresAt - now : -1
  }
  pexpire(key: string, ms: number, now: number) {
    const v = this.live(key, now)
    if (v?.type === "string") v.expiresAt = now + ms
  }

  private hash(key: string, create: boolean): Map<string, string> | undefined {
    const v = this.keys.get(key)
    if (v?.type === "hash") return v.fields
    if (!create) return undefined
    const fields = new Map<string, string>()
    this.keys.set(key, { type: "hash", fields })
    return fields
  }
  hget(key: string, field: string) {
    return this.hash(key, false)?.get(field)
  }
  hset(key: string, ...pairs: ReadonlyArray<string>) {
    const h = this.hash(key, true)!
    for (let i = 0; i + 1 < pairs.length; i += 2) h.set(pairs[i]!, pairs[i + 1]!)
  }
  hincrby(key: string, field: string, by: number) {
    const h = this.hash(key, true)!
    h.set(field, String(Number(h.get(field) ?? "0") + by))
  }
  hdel(key: string, field: string) {
    const h = this.hash(key, false)
    h?.delete(field)
    if (h?.size === 0) this.keys.delete(key)
  }
  hlen(key: string) {
    return this.hash(key, false)?.size ?? 0
  }
  hgetall(key: string): Record<string, string> {
    return Object.fromEntries(this.hash(key, false) ?? [])
  }

  private set_(key: string, create: boolean): Set<string> | undefined {
    const v = this.keys.get(key)
    if (v?.type === "set") return v.members
    if (!create) return undefined
    const members = new Set<string>()
    this.keys.set(key, { type: "set", members })
    return members
  }
  sadd(key: string, member: string) {
    this.set_(key, true)!.add(member)
  }
  srem(key: string, member: string) {
    const s = this.set_(key, false)
    s?.delete(member)
    if (s?.size === 0) this.keys.delete(key)
  }
  sismember(key: string, member: string) {
    return this.set_(key, false)?.has(member) ?? false
  }
  scard(key: string) {
    return this.set_(key, false)?.size ?? 0
  }
  smembers(key: string): Array<string> {
    return [...(this.set_(key, false) ?? [])]
  }

  stream(key: string): Stream | undefined {
    const v = this.keys.get(key)
    return v?.type === "stream" ? v.stream : undefined
  }
  /** XADD key [MAXLEN maxLen] * fields: the id is the clock's ms, or the last id's next sequence. */
  xadd(key: string, fields: ReadonlyArray<string>, now: number, maxLen?: number): Id {
    let s = this.stream(key)
    if (s === undefined) {
      s = { entries: [], lastId: ZERO, added: 0, groups: new Map() }
      this.keys.set(key, { type: "stream", stream: s })
    }
    const id = now > s.lastId.ms ? { ms: now, seq: 0 } : { ms: s.lastId.ms, seq: s.lastId.seq + 1 }
    s.entries.push({ id, fields })
    s.lastId = id
    s.added++
    if (maxLen !== undefined && s.entries.length > maxLen) s.entries.splice(0, s.entries.length - maxLen)
    return id
  }
}

/**
 * How many entries up to `id` were ever added, where Redis can tell without reading the stream
 * (streamEstimateDistanceFromFirstEverEntry, with no deleted entries): at the last id, or at or
 * before the first entry; undefined elsewhere.
 */
const addedUpTo = (s: Stream, id: Id): number | undefined => {
  if (s.added === 0) return 0
  const cmpLast = compareIds(id, s.lastId)
  if (s.entries.length === 0 && cmpLast <= 0) return s.added
  if (cmpLast === 0) return s.added
  if (cmpLast > 0) return undefined
  const first = s.entries[0]!.id
  const cmpFirst = compareIds(id, first)
  if (cmpFirst < 0) return s.added - s.entries.length
  if (cmpFirst === 0) return s.added - s.entries.length + 1
  return undefined
}

/** XINFO GROUPS' lag (streamReplyWithCGLag): from the group's counter when known, else estimated, else unknown. */
const lagOf = (s: Stream, g: Group): number | undefined => {
  if (s.added === 0) return 0
  if (g.entriesRead !== undefined) return s.added - g.entriesRead
  const read = addedUpTo(s, g.lastDelivered)
  return read === undefined ? undefined : s.added - read
}

const groupInfo = (s: Stream, name: string, g: Group): MemoryGroupInfo => ({
  name,
  lastDeliveredId: idText(g.lastDelivered),
  pending: [...g.pending.entries()]
    .sort((a, b) => compareIds(parseId(a[0])!, parseId(b[0])!))
    .map(([id, p]) => [id, p.consumer, p.deliveries] as const),
  entriesRead: g.entriesRead ?? null,
  lag: lagOf(s, g) ?? null
})

const groupsOf = (s: Stream): Array<MemoryGroupInfo> =>
  [...s.groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([n, g]) => groupInfo(s, n, g))

/** The classification of the scripts (CLASSIFY), over the model. */
const classify = (space: KeySpace, key: string, now: number): { state: StreamState; names: Array<string> } => {
  if (!space.exists(key, now)) return { state: "absent", names: [] }
  const s = space.stream(key)!
  const groups = groupsOf(s)
  if (groups.length === 0) return { state: "orphaned", names: [] }
  const names = groups.map((g) => g.name)
  if (groups.some((g) => g.pending.length !== 0)) return { state: "unfinished", names }
  // lag 0 everywhere: every group has read every entry; otherwise (or unknown) compare the ids
  if (groups.some((g) => g.lag !== 0)) {
    const last = idText(s.lastId)
    if (groups.some((g) => g.lastDeliveredId !== last)) return { state: "unfinished", names }
  }
  return { state: "consumed", names }
}

const toInt = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

// ---------------------------------------------------------------------------------- the store ---

export type MemoryEpochStoreOptions = EpochStoreOptions

const client = (space: KeySpace, options: MemoryEpochStoreOptions): MemoryEpochStore => {
  const keys: StoreKeys = storeKeys(options.prefix ?? DEFAULT_PREFIX)
  const eventMaxLen = options.eventStreamMaxLen ?? 10_000
  const now = Clock.currentTimeMillis

  /** One script: runs at one instant, all at once (nothing else runs in between, as in Redis). */
  const script = <A, E>(body: (t: number) => Effect.Effect<A, E>) => Effect.flatMap(now, body)
  /** A write: refused, nothing written, once this client's lock token is not the lock's holder (the FENCE). */
  const write = <A, E>(body: (t: number) => Effect.Effect<A, E>): Effect.Effect<A, E | ProducerLockLost> =>
    script((t): Effect.Effect<A, E | ProducerLockLost> => {
      const token = lock.token()
      if (token !== undefined) {
        const holder = space.get(keys.producerLock, t)
        if (holder !== token) return Effect.fail(lock.lose(holder ?? "nobody"))
      }
      return body(t)
    })

  const ensureOrderingBase: EpochStoreShape["ensureOrderingBase"] = (base) =>
    write((t) => {
      const seeded = space.setnx(keys.lastSyncedEpoch, String(base), t)
      space.setnx(keys.lowWatermark, String(base + 1), t)
      return Effect.succeed({ base: toInt(space.get(keys.lastSyncedEpoch, t)) ?? base, seeded })
    }).pipe(Effect.withSpan("EpochStore.ensureOrderingBase"))

  const resetOrderingBase: EpochStoreShape["resetOrderingBase"] = (base) =>
    write(() => Effect.sync(() => space.set(keys.lastSyncedEpoch, String(base)))).pipe(Effect.withSpan("EpochStore.resetOrderingBase"))

  const resetEpochState: EpochStoreShape["resetEpochState"] = (epoch) =>
    write((t) => {
      const synced = space.get(keys.lastSyncedEpoch, t)
      if (synced !== undefined && epoch <= Number(synced)) {
        return Effect.fail(
          new StoreContractViolation({
            operation: `resetEpochState(${epoch})`,
            detail: `epoch ${epoch} is already committed (≤ last_synced_epoch): its stream is published to consumers and must not be rewritten`
          })
        )
      }
      const blocks = Number(space.hget(keys.meta(epoch), "blocks_total") ?? "0")
      if (blocks !== 0) space.hincrby(keys.metrics, "blocks_total", -blocks)
      space.del(keys.stream(epoch), keys.meta(epoch))
      space.hdel(keys.resumeMap, String(epoch))
      space.srem(keys.readySet, String(epoch))
      return Effect.void
    }).pipe(Effect.withSpan("EpochStore.resetEpochState"))

  /** The staged length is not what the writer expects: the STAGED error reply of the scripts. */
  const stagedMismatch = (epoch: number, have: number, staged: number) =>
    Effect.fail(new RedisError({
      operation: `APPEND ${keys.staging(epoch)}`,
      url: "memory",
      cause: undefined,
      detail: `STAGED ${keys.staging(epoch)} holds ${have} bytes of the batch, not ${staged}`
    }))

  // staged parts are kept as latin1 strings: one character per byte, so the length is the byte count
  const stageBatchPart: EpochStoreShape["stageBatchPart"] = (epoch, data, staged) =>
    write((t) => {
      const key = keys.staging(epoch)
      const have = staged === 0 ? "" : space.get(key, t) ?? ""
      if (have.length !== staged) return stagedMismatch(epoch, have.length, staged)
      space.set(key, have + data.toString("latin1"), t + STAGING_TTL_MS)
      return Effect.void
    }).pipe(Effect.withSpan("EpochStore.stageBatchPart"))

  const appendBatch = (epoch: number, batch: EncodedBatch) =>
    write((t) => {
      const staged = batch.staged ?? 0
      const have = staged === 0 ? "" : space.get(keys.staging(epoch), t) ?? ""
      if (have.length !== staged) return stagedMismatch(epoch, have.length, staged)
      if (staged > 0) space.del(keys.staging(epoch))
      return Effect.sync(() => {
        const bytes = batch.byteLength ?? staged + Buffer.byteLength(batch.data, "utf8")
        const tail = typeof batch.data === "string" ? Buffer.from(batch.data, "utf8") : batch.data
        // decoded as one: a part may end inside a character
        const data = (staged === 0 ? tail : Buffer.concat([Buffer.from(have, "latin1"), tail])).toString("utf8")
        space.xadd(keys.stream(epoch), ["type", "batch", "epoch", String(epoch), "data", data], t)
        space.hset(keys.resumeMap, String(epoch), String(batch.lastHeight))
        space.hincrby(keys.metrics, "blocks_total", batch.blockCount)
        space.hincrby(keys.meta(epoch), "bytes_total", bytes)
        space.hincrby(keys.meta(epoch), "blocks_total", batch.blockCount)
      })
    }).pipe(Effect.withSpan("EpochStore.appendBatch"))

  const markEpochComplete: EpochStoreShape["markEpochComplete"] = (epoch, lastHeight) =>
    write((t) => {
      const stored = space.get(keys.lastSyncedEpoch, t)
      if (stored === undefined) {
        return Effect.fail(
          new StoreContractViolation({
            operation: `markEpochComplete(${epoch})`,
            detail: `${keys.lastSyncedEpoch} is unset: call ensureOrderingBase first (nothing was written)`
          })
        )
      }
      let cur = Number(stored)
      let accepted = false
      if (epoch > cur) {
        const entries = space.stream(keys.stream(epoch))?.entries ?? []
        const first = entries[0]
        const last = entries[entries.length - 1]
        if (first !== undefined && last !== undefined) {
          space.hset(keys.meta(epoch), "first_xadd_ts_ms", String(first.id.ms), "last_xadd_ts_ms", String(last.id.ms))
        }
        space.sadd(keys.readySet, String(epoch))
        space.hset(keys.resumeMap, String(epoch), String(lastHeight))
        accepted = true
      }
      let committed = 0
      let next = cur + 1
      while (space.sismember(keys.readySet, String(next))) {
        const h = space.hget(keys.resumeMap, String(next)) ?? ""
        space.xadd(keys.eventStream, ["type", "epoch_complete", "epoch", String(next), "last_height", h], t, eventMaxLen)
        space.srem(keys.readySet, String(next))
        space.set(keys.lastSyncedEpoch, String(next))
        space.hdel(keys.resumeMap, String(next))
        cur = next
        next = next + 1
        committed++
      }
      if (committed > 0) space.hincrby(keys.metrics, "epochs_total", committed)
      return accepted
        ? Effect.succeed(cur)
        : Effect.as(Effect.logDebug(`epoch ${epoch} was already committed (last_synced_epoch ${cur}); no new event`), cur)
    }).pipe(Effect.withSpan("EpochStore.markEpochComplete"))

  const classifyStream = (epoch: number): Effect.Effect<StreamClassification> =>
    script((t) => {
      const key = keys.stream(epoch)
      const { state, names } = classify(space, key, t)
      return Effect.succeed({ epoch, key, state, groups: names })
    }).pipe(Effect.withSpan("EpochStore.classifyStream"))

  const purgeStaleStreams = (upTo: number, opts?: { readonly purgeOrphans?: boolean }) =>
    write((t): Effect.Effect<PurgeResult, NoRegisteredConsumer | ConsumerNotFinished> => {
      const lw = toInt(space.get(keys.lowWatermark, t))
      if (lw === undefined || lw >= upTo) {
        return Effect.succeed({ purged: 0, orphans: [], lowWatermark: lw })
      }
      let present = 0
      const orphans: Array<number> = []
      for (let e = lw; e <= upTo - 1; e++) {
        const key = keys.stream(e)
        const { state, names } = classify(space, key, t)
        if (state === "orphaned") {
          if (opts?.purgeOrphans !== true) return Effect.fail(new NoRegisteredConsumer({ epoch: e, streamKey: key }))
          orphans.push(e)
          present++
        } else if (state === "unfinished") {
          return Effect.fail(new ConsumerNotFinished({ epoch: e, streamKey: key, groups: names }))
        } else if (state === "consumed") {
          present++
        }
      }
      for (let e = lw; e <= upTo - 1; e++) {
        space.del(keys.stream(e), keys.meta(e))
        space.hdel(keys.resumeMap, String(e))
        space.srem(keys.readySet, String(e))
      }
      space.set(keys.lowWatermark, String(upTo))
      return reportPurge(upTo, present, orphans)
    }).pipe(Effect.withSpan("EpochStore.purgeStaleStreams"))

  const cleanupPass = (): Effect.Effect<CleanupResult, ProducerLockLost> =>
    write((t) => {
      const lw = toInt(space.get(keys.lowWatermark, t))
      const ls = toInt(space.get(keys.lastSyncedEpoch, t))
      if (lw === undefined || ls === undefined) {
        return Effect.succeed({ skipped: true, purged: 0, lowWatermark: undefined, stoppedAt: undefined, stoppedBecause: undefined })
      }
      let purged = 0
      let stoppedAt: number | undefined
      let stoppedBecause: StreamState | undefined
      for (let e = lw; e < ls; e++) {
        const key = keys.stream(e)
        const { state } = classify(space, key, t)
        if (state === "absent") {
          space.set(keys.lowWatermark, String(e + 1))
        } else if (state === "consumed") {
          space.del(key, keys.meta(e))
          space.set(keys.lowWatermark, String(e + 1))
          space.hincrby(keys.metrics, "streams_purged_total", 1)
          purged++
        } else {
          stoppedAt = e
          stoppedBecause = state
          break
        }
      }
      space.hset(keys.metrics, "last_cleanup_at", isoTimestamp(new Date(t)))
      return Effect.succeed({ skipped: false, purged, lowWatermark: toInt(space.get(keys.lowWatermark, t)), stoppedAt, stoppedBecause })
    }).pipe(Effect.withSpan("EpochStore.cleanupPass"))

  const unconsumedLag = () =>
    script((t) => {
      const a = toInt(space.get(keys.lastSyncedEpoch, t))
      const b = toInt(space.get(keys.lowWatermark, t))
      return Effect.succeed(a === undefined || b === undefined ? 0 : a - b)
    })

  const setBackpressurePaused = (paused: boolean) =>
    write((t) =>
      Effect.sync(() =>
        space.hset(keys.metrics, "backpressure_paused", paused ? "1" : "0", "backpressure_paused_since", paused ? isoTimestamp(new Date(t)) : "")
      )
    )

  const status = (): Effect.Effect<EpochStoreStatus> =>
    script((t) => {
      const ls = toInt(space.get(keys.lastSyncedEpoch, t)) ?? null
      const lw = toInt(space.get(keys.lowWatermark, t)) ?? null
      return Effect.succeed({
        last_synced_epoch: ls,
        low_watermark: lw,
        epochs_individually_completed_pending_sync: space.scard(keys.readySet),
        epochs_with_active_resume_points: space.hlen(keys.resumeMap),
        ordering_consistent: ls === null || lw === null || lw <= ls + 1,
        redis_connection: "ok" as const
      })
    })

  const lockHeld = (holder: string | undefined, ttlMs: number) =>
    new ProducerLockHeld({ prefix: keys.prefix, holder: holder || "nobody (expired)", ttlMs })
  const lock = makeProducerLockClient(keys.prefix, {
    acquire: (owner, ttlMs) =>
      script((t) => {
        const cur = space.get(keys.producerLock, t)
        if (cur === undefined || cur === owner) {
          space.set(keys.producerLock, owner, t + Math.max(1, Math.round(ttlMs)))
          return Effect.void
        }
        return Effect.fail(lockHeld(cur, space.pttl(keys.producerLock, t)))
      }).pipe(Effect.withSpan("EpochStore.acquireProducerLock")),
    refresh: (owner, ttlMs) =>
      script((t) => {
        const cur = space.get(keys.producerLock, t)
        if (cur === owner) {
          space.pexpire(keys.producerLock, Math.max(1, Math.round(ttlMs)), t)
          return Effect.void
        }
        return Effect.fail(lockHeld(cur, space.pttl(keys.producerLock, t)))
      }).pipe(Effect.withSpan("EpochStore.refreshProducerLock")),
    release: (owner) =>
      script((t) => {
        if (space.get(keys.producerLock, t) !== owner) return Effect.succeed(false)
        space.del(keys.producerLock)
        return Effect.succeed(true)
      }).pipe(Effect.withSpan("EpochStore.releaseProducerLock"))
  })

  const hset = (...pairs: ReadonlyArray<string>) => Effect.sync(() => space.hset(keys.metrics, ...pairs))

  // ------------------------------------------------------------------------- the consumer side ---

  const existing = (command: string, epoch: number, group: string) => {
    const s = space.stream(keys.stream(epoch))
    const g = s?.groups.get(group)
    if (s === undefined || g === undefined) {
      return Effect.fail(
        new MemoryStreamError({
          command,
          reply: `NOGROUP No such key '${keys.stream(epoch)}' or consumer group '${group}' in XREADGROUP with GROUP option`
        })
      )
    }
    return Effect.succeed({ s, g })
  }

  const createGroup = (epoch: number, group: string, from = "0") =>
    Effect.suspend(() => {
      const command = `XGROUP CREATE ${keys.stream(epoch)} ${group} ${from}`
      const s = space.stream(keys.stream(epoch))
      if (s === undefined) {
        return Effect.fail(
          new MemoryStreamError({
            command,
            reply: "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
          })
        )
      }
      const at = from === "$" ? s.lastId : parseId(from)
      if (at === undefined) return Effect.fail(new MemoryStreamError({ command, reply: "ERR Invalid stream ID specified as stream command argument" }))
      if (s.groups.has(group)) return Effect.fail(new MemoryStreamError({ command, reply: "BUSYGROUP Consumer Group name already exists" }))
      s.groups.set(group, { lastDelivered: at, entriesRead: undefined, pending: new Map() })
      return Effect.void
    })

  const readGroup: MemoryEpochStore["readGroup"] = (epoch, group, consumer, opts = {}) =>
    Effect.flatMap(Effect.suspend(() => existing(`XREADGROUP GROUP ${group} ${consumer}`, epoch, group)), ({ g, s }) =>
      Effect.sync(() => {
        // COUNT 0 (or none) is no limit, as in Redis
        const count = opts.count === undefined || opts.count <= 0 ? Number.POSITIVE_INFINITY : opts.count
        const from = opts.from ?? ">"
        const out: Array<MemoryEntry> = []
        if (from === ">") {
          for (const e of s.entries) {
            if (out.length >= count) break
            if (compareIds(e.id, g.lastDelivered) <= 0) continue
            // Redis counts a delivery when its counter is known, and estimates the counter otherwise
            g.entriesRead = g.entriesRead !== undefined ? g.entriesRead + 1 : addedUpTo(s, e.id)
            g.lastDelivered = e.id
            g.pending.set(idText(e.id), { consumer, deliveries: 1 })
            out.push([idText(e.id), [...e.fields]])
          }
          return out
        }
        const after = parseId(from) ?? ZERO
        const mine = [...g.pending.entries()]
          .filter(([id, p]) => p.consumer === consumer && compareIds(parseId(id)!, after) > 0)
          .sort((a, b) => compareIds(parseId(a[0])!, parseId(b[0])!))
        for (const [id, p] of mine) {
          if (out.length >= count) break
          p.deliveries++
          // an entry pending in the group always exists: nothing deletes single entries
          const e = s.entries.find((x) => idText(x.id) === id)
          out.push([id, e === undefined ? [] : [...e.fields]])
        }
        return out
      }))

  const ack = (epoch: number, group: string, ...ids: ReadonlyArray<string>) =>
    Effect.sync(() => {
      const g = space.stream(keys.stream(epoch))?.groups.get(group)
      if (g === undefined) return 0
      let n = 0
      for (const id of new Set(ids)) if (g.pending.delete(id)) n++
      return n
    })

  const self: MemoryEpochStore = {
    prefix: keys.prefix,
    keys,
    ensureOrderingBase,
    resetOrderingBase,
    getLastSyncedEpoch: () => script((t) => Effect.succeed(toInt(space.get(keys.lastSyncedEpoch, t)))),
    getLowWatermark: () => script((t) => Effect.succeed(toInt(space.get(keys.lowWatermark, t)))),
    getEpochResumeHeight: (epoch) => Effect.sync(() => toInt(space.hget(keys.resumeMap, String(epoch)))),
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
    heartbeat: () => write((t) => hset("last_heartbeat_ts", isoTimestamp(new Date(t)))).pipe(Effect.withSpan("EpochStore.heartbeat")),
    noteBatchStarted: (active, maximum) => write(() => hset("workers_active", String(active), "workers_max", String(maximum))),
    noteBatchFinished: () => write(() => hset("workers_active", "0")),

    state: () => {
      const streams: Record<string, MemoryStreamState> = {}
      const meta: Record<string, Record<string, string>> = {}
      for (const [key, v] of space.keys) {
        if (!key.startsWith(keys.epochPrefix)) continue
        const rest = key.slice(keys.epochPrefix.length)
        if (v.type === "stream" && /^-?\d+$/.test(rest)) {
          streams[rest] = { entries: v.stream.entries.map((e) => [idText(e.id), [...e.fields]] as const), lastGeneratedId: idText(v.stream.lastId), groups: groupsOf(v.stream) }
        } else if (v.type === "hash" && rest.endsWith(":meta")) {
          meta[rest.slice(0, -":meta".length)] = Object.fromEntries(v.fields)
        }
      }
      const str = (key: string) => {
        const v = space.keys.get(key)
        return v?.type === "string" ? v : undefined
      }
      const lockValue = str(keys.producerLock)
      const stagingPrefix = keys.staging(0).slice(0, -1)
      const staging: Record<string, number> = {}
      for (const [key, v] of space.keys) {
        if (key.startsWith(stagingPrefix) && v.type === "string") staging[key.slice(stagingPrefix.length)] = v.value.length
      }
      return {
        ...(Object.keys(staging).length > 0 ? { staging } : {}),
        lastSyncedEpoch: str(keys.lastSyncedEpoch)?.value ?? null,
        lowWatermark: str(keys.lowWatermark)?.value ?? null,
        readySet: space.smembers(keys.readySet).sort((a, b) => Number(a) - Number(b)),
        resumeMap: space.hgetall(keys.resumeMap),
        streams,
        meta,
        events: space.stream(keys.eventStream)?.entries.map((e) => [idText(e.id), [...e.fields]] as const) ?? [],
        metrics: space.hgetall(keys.metrics),
        producerLock: lockValue === undefined ? null : { holder: lockValue.value, expiresAtMs: lockValue.expiresAt }
      }
    },
    connect: () => client(space, options),
    createGroup,
    readGroup,
    ack,
    pending: (epoch, group) =>
      Effect.sync(() => {
        const s = space.stream(keys.stream(epoch))
        const g = s?.groups.get(group)
        return s === undefined || g === undefined ? [] : groupInfo(s, group, g).pending
      }),
    groups: (epoch) =>
      Effect.sync(() => {
        const s = space.stream(keys.stream(epoch))
        return s === undefined ? [] : groupsOf(s)
      }),
    setProducerLock: (holder, ttlMs) =>
      script((t) =>
        Effect.sync(() => {
          if (holder === undefined) space.del(keys.producerLock)
          else space.set(keys.producerLock, holder, ttlMs === undefined ? undefined : t + Math.max(1, Math.round(ttlMs)))
        })
      )
  }
  return self
}

/**
 * An EpochStore held in memory (a fresh namespace per call), with the consumer side of its
 * streams. `connect()` gives further clients of the same namespace.
 */
export const makeMemoryEpochStore = (options: MemoryEpochStoreOptions = {}): MemoryEpochStore => client(new KeySpace(), options)

/** `EpochStore` in memory: the layer for tests of pipelines that need no Redis. */
export const MemoryEpochStoreLayer = (options: MemoryEpochStoreOptions = {}): Layer.Layer<EpochStore> =>
  Layer.sync(EpochStore, () => makeMemoryEpochStore(options))

