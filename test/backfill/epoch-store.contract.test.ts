/**
 * The in-memory EpochStore against the Redis one: the same calls (the ordering base, epoch
 * attempts with their batches, completions out of order, consumer groups registering, reading and
 * acknowledging, cleanup passes and purges, the producer lock taken, refreshed, released and lost)
 * go to both, and after every step both answer the same (values, errors and their messages) and
 * hold the same namespace: last_synced_epoch, low_watermark, ready_set, resume_map, every epoch
 * stream's entries and consumer groups (positions, pending entries, lag), `:meta`, event_stream,
 * metrics and the lock, with only clock-made values (entry ids, timestamps, TTLs) compared by
 * shape. A fast-check property draws random operation sequences; fixed tests cover what needs
 * time (lock expiry, the refresh loop losing the lock, the backpressure wait) and the capped
 * event stream. So a pipeline unit-tested over the memory store behaves as it will over Redis.
 */
import { randomBytes } from "node:crypto"
import { Duration, Effect, Exit, Fiber, Redacted, Result, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type EncodedBatch, type EpochStoreShape, makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import {
  type MemoryEntry,
  makeMemoryEpochStore,
  type MemoryEpochState,
  type MemoryEpochStore,
  type MemoryGroupInfo,
  type MemoryStreamError,
  type MemoryStreamState
} from "../../src/backfill/store/MemoryEpochStore.js"
import { makeConnection } from "../../src/layers/RedisLive.js"
import type { RedisClient } from "../../src/services/Redis.js"
import { propertyRuns } from "../../src/testing/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "./redis-helpers.js"

let client: RedisClient
const scope = Effect.runSync(Scope.make())
let conn: Effect.Success<ReturnType<typeof makeConnection>>
const prefixes: Array<string> = []

beforeAll(async () => {
  conn = await Effect.runPromise(makeConnection({ url: Redacted.make(TEST_REDIS_URL), connectionName: "hecate-test-epoch-contract" }).pipe(Scope.provide(scope)))
  client = conn.client
})
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(client, p)
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const newPrefix = () => {
  const p = `hecate-test:${randomBytes(6).toString("hex")}:`
  prefixes.push(p)
  return p
}

// ------------------------------------------------------------------ one store, as a test sees it ---

/** An error as a caller sees it: its tag and message (which carries every field). */
type Failure = { readonly _tag: string; readonly message: string }
type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: Failure }

const failureOf = (e: unknown): Failure => {
  const tagged = e as { _tag?: unknown; message?: unknown }
  return { _tag: String(tagged._tag ?? "Error"), message: String(tagged.message ?? e) }
}
const outcome = async <A>(effect: Effect.Effect<A, unknown>): Promise<Outcome<A>> => {
  const r = await Effect.runPromise(Effect.result(effect))
  return Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, error: failureOf(r.failure) }
}
const attempt = async <A>(f: () => Promise<A>): Promise<Outcome<A>> => {
  try {
    return { ok: true, value: await f() }
  } catch (e) {
    // a Redis error reply is compared by its code (BUSYGROUP, NOGROUP, ERR)
    return { ok: false, error: { _tag: "ReplyError", message: String((e as Error).message).split(" ")[0]! } }
  }
}

/** The store plus what a consumer and another process can do to its namespace. */
interface Side {
  readonly name: string
  readonly store: EpochStoreShape
  readonly createGroup: (epoch: number, group: string, from: string) => Promise<Outcome<void>>
  readonly readGroup: (epoch: number, group: string, consumer: string, count: number, from: string) => Promise<Outcome<ReadonlyArray<MemoryEntry>>>
  readonly ack: (epoch: number, group: string, ids: ReadonlyArray<string>) => Promise<number>
  /** Another process SETs (PX ttl, or no expiry) or DELs the lock key. */
  readonly setLock: (holder: string | undefined, ttlMs?: number) => Promise<void>
  readonly dump: () => Promise<MemoryEpochState>
}

/** A consumer command's error reply, by its code, as for Redis. */
const replied = async <A>(effect: Effect.Effect<A, MemoryStreamError>): Promise<Outcome<A>> => {
  const r = await Effect.runPromise(Effect.result(effect))
  return Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, error: { _tag: "ReplyError", message: r.failure.reply.split(" ")[0]! } }
}

const memorySide = (store: MemoryEpochStore): Side => ({
  name: "memory",
  store,
  createGroup: (epoch, group, from) => replied(store.createGroup(epoch, group, from)),
  readGroup: (epoch, group, consumer, count, from) => replied(store.readGroup(epoch, group, consumer, { count, from })),
  ack: (epoch, group, ids) => Effect.runPromise(store.ack(epoch, group, ...ids)),
  setLock: (holder, ttlMs) => Effect.runPromise(store.setProducerLock(holder, ttlMs)),
  dump: async () => store.state()
})

const pairs = (flat: ReadonlyArray<unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]
  return out
}

const redisSide = (prefix: string, options: { eventStreamMaxLen?: number } = {}): Side => {
  const store = makeEpochStore({ url: conn.url, use: conn.use }, { prefix, ...options })
  const keys = store.keys
  const entries = async (key: string): Promise<Array<MemoryEntry>> =>
    ((await client.xrange(key, "-", "+")) as Array<[string, Array<string>]>).map(([id, f]) => [id, f] as const)
  const streamState = async (key: string): Promise<MemoryStreamState> => {
    const info = pairs((await client.xinfo("STREAM", key)) as Array<unknown>)
    const groups: Array<MemoryGroupInfo> = []
    for (const g of (await client.xinfo("GROUPS", key)) as Array<Array<unknown>>) {
      const f = pairs(g)
      const name = String(f["name"])
      const pending = ((await client.xpending(key, name, "-", "+", 10_000)) as Array<[string, string, number, number]>).map(
        ([id, consumer, , deliveries]) => [id, consumer, Number(deliveries)] as const
      )
      const count = (v: unknown) => (v === null || v === undefined ? null : Number(v))
      groups.push({ name, lastDeliveredId: String(f["last-delivered-id"]), pending, entriesRead: count(f["entries-read"]), lag: count(f["lag"]) })
    }
    return { entries: await entries(key), lastGeneratedId: String(info["last-generated-id"]), groups }
  }
  return {
    name: "redis",
    store,
    createGroup: (epoch, group, from) => attempt(async () => void (await client.xgroup("CREATE", keys.stream(epoch), group, from))),
    readGroup: (epoch, group, consumer, count, from) =>
      attempt(async () => {
        const reply = (await client.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", keys.stream(epoch), from)) as
          | Array<[string, Array<[string, Array<string> | null]>]>
          | null
        return (reply?.[0]?.[1] ?? []).map(([id, f]) => [id, f ?? []] as const)
      }),
    ack: async (epoch, group, ids) => (ids.length === 0 ? 0 : Number(await client.xack(keys.stream(epoch), group, ...ids))),
    setLock: async (holder, ttlMs) => {
      if (holder === undefined) await client.del(keys.producerLock)
      else if (ttlMs === undefined) await client.set(keys.producerLock, holder)
      else await client.set(keys.producerLock, holder, "PX", ttlMs)
    },
    dump: async () => {
      const streams: Record<string, MemoryStreamState> = {}
      const meta: Record<string, Record<string, string>> = {}
      const stagingPrefix = keys.staging(0).slice(0, -1)
      const staging: Record<string, number> = {}
      const known = new Set([keys.lastSyncedEpoch, keys.lowWatermark, keys.readySet, keys.resumeMap, keys.eventStream, keys.metrics, keys.producerLock])
      let cursor = "0"
      do {
        const [next, found] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
        cursor = next
        for (const key of found) {
          const rest = key.slice(keys.epochPrefix.length)
          if (key.startsWith(keys.epochPrefix) && /^-?\d+$/.test(rest)) streams[rest] = await streamState(key)
          else if (key.startsWith(keys.epochPrefix) && rest.endsWith(":meta")) meta[rest.slice(0, -5)] = await client.hgetall(key)
          else if (key.startsWith(stagingPrefix)) staging[key.slice(stagingPrefix.length)] = await client.strlen(key)
          else expect(known.has(key), `Redis holds ${key}, which the memory store does not model`).toBe(true)
        }
      } while (cursor !== "0")
      const ttl = await client.pttl(keys.producerLock)
      const holder = await client.get(keys.producerLock)
      return {
        ...(Object.keys(staging).length > 0 ? { staging } : {}),
        lastSyncedEpoch: await client.get(keys.lastSyncedEpoch),
        lowWatermark: await client.get(keys.lowWatermark),
        readySet: (await client.smembers(keys.readySet)).sort((a, b) => Number(a) - Number(b)),
        resumeMap: await client.hgetall(keys.resumeMap),
        streams,
        meta,
        events: (await client.exists(keys.eventStream)) === 1 ? await entries(keys.eventStream) : [],
        metrics: await client.hgetall(keys.metrics),
        producerLock: holder === null ? null : { holder, expiresAtMs: ttl >= 0 ? Date.now() + ttl : undefined }
      }
    }
  }
}

// ------------------------------------------------------------------------- comparing two sides ---

const TIMESTAMPS = new Set(["last_cleanup_at", "last_heartbeat_ts", "backpressure_paused_since", "first_xadd_ts_ms", "last_xadd_ts_ms"])
/** Clock-made values by shape only: a timestamp is "<ts>" (or "" when cleared). */
const untimed = (fields: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, TIMESTAMPS.has(k) && v !== "" ? "<ts>" : v]))

const idOrder = (a: string, b: string) => {
  const [am, as] = a.split("-").map(Number) as [number, number]
  const [bm, bs] = b.split("-").map(Number) as [number, number]
  return am - bm || as - bs
}

/** A stream with its ids replaced by positions (ids come from each side's clock). */
const positional = (s: MemoryStreamState) => {
  const ids = s.entries.map(([id]) => id)
  for (let i = 1; i < ids.length; i++) expect(idOrder(ids[i - 1]!, ids[i]!), `ids ascend: ${ids.join(" ")}`).toBeLessThan(0)
  const at = (id: string) => (id === "0-0" ? -1 : ids.indexOf(id) >= 0 ? ids.indexOf(id) : `not an entry: ${id}`)
  return {
    entries: s.entries.map(([, f]) => f),
    lastGenerated: at(s.lastGeneratedId),
    groups: s.groups.map((g) => ({ name: g.name, lastDelivered: at(g.lastDeliveredId), pending: g.pending.map(([id, c, n]) => [at(id), c, n]), entriesRead: g.entriesRead, lag: g.lag }))
  }
}

const comparable = (s: MemoryEpochState) => ({
  lastSyncedEpoch: s.lastSyncedEpoch,
  lowWatermark: s.lowWatermark,
  readySet: s.readySet,
  resumeMap: s.resumeMap,
  streams: Object.fromEntries(Object.entries(s.streams).map(([e, st]) => [e, positional(st)])),
  meta: Object.fromEntries(Object.entries(s.meta).map(([e, m]) => [e, untimed(m)])),
  events: s.events.map(([, f]) => f),
  metrics: untimed(s.metrics),
  producerLock: s.producerLock === null ? null : { holder: s.producerLock.holder, expires: s.producerLock.expiresAtMs !== undefined }
})

const EPOCHS = [-1, 0, 1, 2, 3, 4, 5, 6, 7]

/** Everything a caller can read, through the store's own reads, plus the namespace itself. */
const observe = async (side: Side) => {
  const s = side.store
  const read = async <A>(e: Effect.Effect<A, unknown>) => {
    const o = await outcome(e)
    if (!o.ok) throw new Error(`${side.name}: a read failed: ${o.error.message}`)
    return o.value
  }
  return {
    lastSynced: await read(s.getLastSyncedEpoch()),
    lowWatermark: await read(s.getLowWatermark()),
    status: await read(s.status()),
    lag: await read(s.unconsumedLag()),
    resume: await Promise.all(EPOCHS.map((e) => read(s.getEpochResumeHeight(e)))),
    classified: await Promise.all(EPOCHS.map((e) => read(s.classifyStream(e)))),
    namespace: comparable(await side.dump())
  }
}

const expectSame = async (redis: Side, memory: Side, what: string) => {
  const [r, m] = [await observe(redis), await observe(memory)]
  expect(m, `${what}: memory holds what Redis holds`).toEqual(r)
}

// ----------------------------------------------------------------------------------- operations ---

type Op =
  | { readonly op: "ensureBase"; readonly base: number }
  | { readonly op: "rebase"; readonly base: number }
  | { readonly op: "reset"; readonly epoch: number }
  | { readonly op: "append"; readonly epoch: number; readonly blocks: number; readonly lastHeight: number; readonly buffer: boolean }
  | { readonly op: "complete"; readonly epoch: number; readonly lastHeight: number }
  // with `pick`, `epoch` (and for reads and acks, `group`) is chosen when the operation runs (see `target`)
  | { readonly op: "createGroup"; readonly epoch: number; readonly group: string; readonly from: "0" | "$"; readonly pick?: number | undefined }
  | {
    readonly op: "read"
    readonly epoch: number
    readonly group: string
    readonly consumer: string
    readonly count: number
    readonly from: ">" | "0"
    readonly pick?: number | undefined
  }
  | { readonly op: "ack"; readonly epoch: number; readonly group: string; readonly entry: number; readonly pick?: number | undefined }
  | { readonly op: "ackAll"; readonly epoch: number; readonly group: string; readonly pick?: number | undefined }
  // composites, expanded when they run (see `expand`) into the steps a producer or consumer takes
  | { readonly op: "relay"; readonly pick: number; readonly batches: number }
  | { readonly op: "consume"; readonly pick: number; readonly group: string }
  | { readonly op: "restart"; readonly pick: number; readonly group: string; readonly consumer: string }
  | { readonly op: "cleanup" }
  | { readonly op: "purge"; readonly upTo: number; readonly orphans: boolean }
  | { readonly op: "acquire"; readonly owner: string }
  | { readonly op: "refresh"; readonly owner: string }
  | { readonly op: "release"; readonly owner: string }
  | { readonly op: "takeover"; readonly holder: string | undefined; readonly expires: boolean }
  | { readonly op: "paused"; readonly paused: boolean }
  | { readonly op: "heartbeat" }
  | { readonly op: "workers"; readonly active: number }

const LOCK_TTL = 60_000

let batchNo = 0
const batchOf = (epoch: number, blocks: number, lastHeight: number, buffer: boolean): EncodedBatch => {
  // distinct content per batch, with a multi-byte character so bytes ≠ characters
  const text = JSON.stringify(Array.from({ length: blocks }, (_, i) => ({ epoch, height: lastHeight - blocks + 1 + i, n: batchNo, note: "ℏ" })))
  batchNo++
  return buffer ? { data: Buffer.from(text, "utf8"), blockCount: blocks, lastHeight } : { data: text, blockCount: blocks, lastHeight }
}

/** Runs one operation on a side; the result is what a caller would see. */
const apply = async (side: Side, op: Op, batch: EncodedBatch | undefined): Promise<unknown> => {
  const s = side.store
  switch (op.op) {
    case "ensureBase":
      return outcome(s.ensureOrderingBase(op.base))
    case "rebase":
      return outcome(s.resetOrderingBase(op.base))
    case "reset":
      return outcome(s.resetEpochState(op.epoch))
    case "append":
      return outcome(s.appendBatch(op.epoch, batch!))
    case "complete":
      return outcome(s.markEpochComplete(op.epoch, op.lastHeight))
    case "createGroup":
      return side.createGroup(op.epoch, op.group, op.from)
    case "read": {
      const r = await side.readGroup(op.epoch, op.group, op.consumer, op.count, op.from)
      return r.ok ? { ok: true, value: r.value.map(([, f]) => f) } : r
    }
    case "ack":
    case "ackAll": {
      const st = (await side.dump()).streams[String(op.epoch)]
      const pending = st?.groups.find((g) => g.name === op.group)?.pending ?? []
      const ids = op.op === "ackAll" ? pending.map(([id]) => id) : pending.length === 0 ? ["0-1"] : [pending[op.entry % pending.length]![0]]
      return side.ack(op.epoch, op.group, ids)
    }
    case "cleanup":
      return outcome(s.cleanupPass())
    case "purge":
      return outcome(s.purgeStaleStreams(op.upTo, { purgeOrphans: op.orphans }))
    case "acquire":
      return outcome(s.acquireProducerLock(op.owner, LOCK_TTL))
    case "refresh":
      return outcome(s.refreshProducerLock(op.owner, LOCK_TTL))
    case "release":
      return outcome(s.releaseProducerLock(op.owner))
    case "takeover":
      return side.setLock(op.holder, op.expires ? LOCK_TTL : undefined)
    case "paused":
      return outcome(s.setBackpressurePaused(op.paused))
    case "heartbeat":
      return outcome(s.heartbeat())
    case "workers":
      return outcome(op.active === 0 ? s.noteBatchFinished() : s.noteBatchStarted(op.active, 4))
    case "relay":
    case "consume":
    case "restart":
      throw new Error(`${op.op} is expanded before it runs`)
  }
}

/** A ProducerLockHeld's message names the remaining TTL in seconds: the two clocks may round apart. */
const untimedResult = (r: unknown) => {
  const o = r as Outcome<unknown> | undefined
  if (o?.ok === false && o.error._tag === "ProducerLockHeld") return { ...o, error: { ...o.error, message: o.error.message.replace(/expires in \d+ s/, "expires in N s") } }
  return r
}

/**
 * A consumer operation drawn with `pick` instead of an epoch aims at what exists when it runs (a
 * stream, or a stream and one of its groups), so most of them act; the ones drawn with an epoch
 * also hit streams and groups that do not exist.
 */
const target = (op: Op, state: MemoryEpochState): Op => {
  if (op.op === "relay" || op.op === "consume" || op.op === "restart") return op
  if (!("pick" in op) || op.pick === undefined) return op
  const streams = Object.keys(state.streams).map(Number).sort((a, b) => a - b)
  if (op.op === "createGroup") return streams.length === 0 ? { ...op, epoch: 0 } : { ...op, epoch: streams[op.pick % streams.length]! }
  const groups = streams.flatMap((e) => state.streams[String(e)]!.groups.map((g) => [e, g.name] as const))
  if (groups.length === 0) return { ...op, epoch: 0 }
  const [e, g] = groups[op.pick % groups.length]!
  return { ...op, epoch: e, group: g }
}

/**
 * The composites: `relay` is one epoch attempt just above last_synced_epoch (reset, batches,
 * completion), `consume` a consumer taking one published stream whole (register at 0, read, ack).
 */
const expand = (op: Op, state: MemoryEpochState): ReadonlyArray<Op> => {
  const synced = state.lastSyncedEpoch === null ? -1 : Number(state.lastSyncedEpoch)
  if (op.op === "relay") {
    const e = synced + 1 + [0, 0, 1, 2][op.pick % 4]!
    const batches = Array.from({ length: op.batches }, (_, i): Op => ({ op: "append", epoch: e, blocks: 2, lastHeight: e * 10 + 2 * i + 1, buffer: i % 2 === 1 }))
    return [{ op: "reset", epoch: e }, ...batches, { op: "complete", epoch: e, lastHeight: e * 10 + 2 * op.batches - 1 }]
  }
  if (op.op === "consume") {
    const published = Object.keys(state.streams).map(Number).filter((e) => e <= synced).sort((a, b) => a - b)
    // mostly as the contract says (the lowest published stream the group has not finished), sometimes any
    const unread = published.filter((e) => state.streams[String(e)]!.groups.find((g) => g.name === op.group)?.lag !== 0)
    const e = op.pick % 3 !== 0 && unread.length > 0 ? unread[0]! : published.length === 0 ? 0 : published[op.pick % published.length]!
    return [
      { op: "createGroup", epoch: e, group: op.group, from: "0" },
      { op: "read", epoch: e, group: op.group, consumer: "c1", count: 10, from: ">" },
      { op: "ackAll", epoch: e, group: op.group }
    ]
  }
  if (op.op === "restart") {
    // a consumer that read without acknowledging, restarted: it reads its pending entries first
    const pick = { pick: op.pick, epoch: 0, group: op.group, consumer: op.consumer }
    return [{ op: "read", ...pick, count: 2, from: ">" }, { op: "read", ...pick, count: 10, from: "0" }]
  }
  return [op]
}

/** What the steps went through (an outcome per operation, the states streams were in), so a test can check its reach. */
type Seen = Map<string, number>
const note = (seen: Seen | undefined, what: string) => seen?.set(what, (seen.get(what) ?? 0) + 1)

const runBoth = async (ops: ReadonlyArray<Op>, options: { eventStreamMaxLen?: number; seen?: Seen } = {}) => {
  const prefix = newPrefix()
  const redis = redisSide(prefix, options)
  const memory = memorySide(makeMemoryEpochStore({ prefix, ...options }))
  try {
    await expectSame(redis, memory, "fresh")
    const steps = async function*() {
      for (const drawn of ops) for (const op of expand(drawn, await memory.dump())) yield op
    }
    let i = 0
    for await (let op of steps()) {
      i++
      const before = await memory.dump()
      op = target(op, before)
      const batch = op.op === "append" ? batchOf(op.epoch, op.blocks, op.lastHeight, op.buffer) : undefined
      const readyBefore = before.readySet
      const [r, m] = [await apply(redis, op, batch), await apply(memory, op, batch)]
      const what = `step #${i} ${JSON.stringify(op)}`
      expect(untimedResult(m), `${what}: memory answers what Redis answers`).toEqual(untimedResult(r))
      await expectSame(redis, memory, what)
      if (options.seen !== undefined) {
        const o = r as Partial<Outcome<unknown>> | undefined
        note(options.seen, `${op.op}:${o?.ok === false ? o.error!._tag : "ok"}`)
        if (op.op === "cleanup" && o?.ok === true && (o.value as { purged: number }).purged > 0) note(options.seen, "cleanup:purged")
        if (op.op === "complete" && o?.ok === true && readyBefore.length > 0 && (await memory.dump()).readySet.length < readyBefore.length) {
          note(options.seen, "complete:advanced-over-ready")
        }
        if (op.op === "reset" && o?.ok === true && readyBefore.includes(String(op.epoch))) note(options.seen, "reset:ready-epoch")
        if (op.op === "read" && o?.ok === true && (o.value as ReadonlyArray<unknown>).length > 0) note(options.seen, `read:${op.from}:entries`)
        for (const c of (await observe(memory)).classified) note(options.seen, `state:${c.state}`)
      }
    }
  } finally {
    await deleteByPrefix(client, prefix)
  }
  return { redis, memory }
}

const epoch = fc.integer({ min: 0, max: 4 })
const group = fc.constantFrom("g1", "g2")
const owner = fc.constantFrom("A", "B")
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("ensureBase" as const), base: fc.integer({ min: -1, max: 2 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("rebase" as const), base: fc.integer({ min: -1, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("reset" as const), epoch }), weight: 3 },
  {
    arbitrary: fc.record({ op: fc.constant("append" as const), epoch, blocks: fc.integer({ min: 1, max: 3 }), lastHeight: fc.integer({ min: 3, max: 99 }), buffer: fc.boolean() }),
    weight: 6
  },
  { arbitrary: fc.record({ op: fc.constant("complete" as const), epoch, lastHeight: fc.integer({ min: 0, max: 99 }) }), weight: 5 },
  {
    arbitrary: fc.record({ op: fc.constant("createGroup" as const), epoch, group, from: fc.constantFrom("0" as const, "0" as const, "$" as const), pick: fc.option(fc.nat(9), { freq: 4, nil: undefined }) }),
    weight: 4
  },
  {
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      epoch,
      group,
      consumer: fc.constantFrom("c1", "c2"),
      count: fc.integer({ min: 1, max: 3 }),
      from: fc.constantFrom(">" as const, ">" as const, "0" as const),
      pick: fc.option(fc.nat(9), { freq: 6, nil: undefined })
    }),
    weight: 6
  },
  { arbitrary: fc.record({ op: fc.constant("ack" as const), epoch, group, entry: fc.nat(5), pick: fc.option(fc.nat(9), { freq: 6, nil: undefined }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant("ackAll" as const), epoch, group, pick: fc.option(fc.nat(9), { freq: 6, nil: undefined }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("relay" as const), pick: fc.nat(7), batches: fc.integer({ min: 1, max: 3 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("consume" as const), pick: fc.nat(9), group }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("restart" as const), pick: fc.nat(9), group, consumer: fc.constantFrom("c1", "c2") }), weight: 2 },
  { arbitrary: fc.constant({ op: "cleanup" as const }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("purge" as const), upTo: fc.integer({ min: 0, max: 6 }), orphans: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("acquire" as const), owner }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("refresh" as const), owner }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("release" as const), owner }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("takeover" as const), holder: fc.constantFrom("X", "A", undefined), expires: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("paused" as const), paused: fc.boolean() }), weight: 1 },
  { arbitrary: fc.constant({ op: "heartbeat" as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("workers" as const), active: fc.integer({ min: 0, max: 3 }) }), weight: 1 }
)

/** A full run in order: base, epochs 0..3 with 2 completed out of order, consumers, cleanup, purge, lock loss. */
const SCENARIO: ReadonlyArray<Op> = [
  { op: "cleanup" }, // skipped: nothing seeded
  { op: "complete", epoch: 0, lastHeight: 9 }, // refused: no base
  { op: "ensureBase", base: -1 },
  { op: "ensureBase", base: 2 }, // the base in force stays
  { op: "acquire", owner: "A" },
  { op: "acquire", owner: "B" }, // held
  ...[0, 1, 2, 3].flatMap((e): Array<Op> => [
    { op: "reset", epoch: e },
    { op: "append", epoch: e, blocks: 3, lastHeight: e * 10 + 2, buffer: false },
    { op: "append", epoch: e, blocks: 2, lastHeight: e * 10 + 4, buffer: e % 2 === 1 }
  ]),
  { op: "reset", epoch: 1 }, // a failed attempt, retried
  { op: "append", epoch: 1, blocks: 3, lastHeight: 14, buffer: false },
  { op: "complete", epoch: 2, lastHeight: 24 }, // above a gap: waits in ready_set
  { op: "complete", epoch: 3, lastHeight: 34 },
  { op: "complete", epoch: 0, lastHeight: 4 },
  { op: "complete", epoch: 1, lastHeight: 14 }, // fills the gap: 1, 2, 3 commit
  { op: "complete", epoch: 1, lastHeight: 14 }, // again: no new event
  { op: "reset", epoch: 2 }, // refused: committed
  { op: "cleanup" }, // stops at 0: orphaned
  { op: "createGroup", epoch: 0, group: "g1", from: "0" },
  { op: "createGroup", epoch: 0, group: "g1", from: "0" }, // BUSYGROUP
  { op: "createGroup", epoch: 9, group: "g1", from: "0" }, // no such stream
  { op: "read", epoch: 0, group: "g1", consumer: "c1", count: 1, from: ">" },
  { op: "cleanup" }, // 0 unfinished (pending)
  { op: "read", epoch: 0, group: "g1", consumer: "c1", count: 5, from: "0" }, // a restarted consumer's pending entries
  { op: "ackAll", epoch: 0, group: "g1" },
  { op: "read", epoch: 0, group: "g1", consumer: "c2", count: 5, from: ">" },
  { op: "cleanup" }, // 0 unfinished (c2's pending)
  { op: "ack", epoch: 0, group: "g1", entry: 0 },
  { op: "cleanup" }, // 0 consumed → deleted, stops at 1 (orphaned)
  { op: "createGroup", epoch: 1, group: "g2", from: "$" }, // at $: consumed at once
  { op: "createGroup", epoch: 2, group: "g1", from: "0" },
  { op: "createGroup", epoch: 2, group: "g2", from: "0" },
  { op: "read", epoch: 2, group: "g1", consumer: "c1", count: 3, from: ">" },
  { op: "ackAll", epoch: 2, group: "g1" },
  { op: "cleanup" }, // 1 consumed, 2 unfinished (g2 has read nothing)
  { op: "purge", upTo: 3, orphans: false }, // refused: 2 unfinished
  { op: "read", epoch: 2, group: "g2", consumer: "c1", count: 3, from: ">" },
  { op: "ackAll", epoch: 2, group: "g2" },
  { op: "reset", epoch: 5 },
  { op: "append", epoch: 5, blocks: 1, lastHeight: 50, buffer: false }, // an orphan above the window
  { op: "purge", upTo: 6, orphans: false }, // refused: 5 orphaned (3 orphaned first)
  { op: "purge", upTo: 6, orphans: true },
  { op: "paused", paused: true },
  { op: "heartbeat" },
  { op: "workers", active: 2 },
  { op: "takeover", holder: "X", expires: true }, // another producer took the lock
  { op: "append", epoch: 6, blocks: 1, lastHeight: 60, buffer: false }, // fenced
  { op: "cleanup" }, // fenced
  { op: "refresh", owner: "A" }, // held by X
  { op: "takeover", holder: undefined, expires: false }, // the lock is gone
  { op: "complete", epoch: 6, lastHeight: 60 }, // fenced: nobody holds it
  { op: "release", owner: "A" }, // not ours: false (and this client stops fencing)
  { op: "acquire", owner: "A" },
  { op: "release", owner: "A" },
  { op: "append", epoch: 6, blocks: 1, lastHeight: 60, buffer: false }, // not holding: unfenced
  { op: "paused", paused: false },
  { op: "workers", active: 0 }
]

describe("EpochStore in memory = EpochStore on Redis (contract)", () => {
  it("a full run: same answers and same namespace after every step", async () => {
    const { memory } = await runBoth(SCENARIO)
    // and what it holds is what the scenario says (not only what Redis holds)
    const s = memory.store as MemoryEpochStore
    const state = s.state()
    expect(state.lastSyncedEpoch).toBe("3")
    expect(state.lowWatermark).toBe("6")
    expect(state.events.map(([, f]) => f)).toEqual([0, 1, 2, 3].map((e) => ["type", "epoch_complete", "epoch", String(e), "last_height", String(e * 10 + 4)]))
    expect(Object.keys(state.streams)).toEqual(["6"])
    expect(state.metrics).toMatchObject({ epochs_total: "4", streams_purged_total: "2", backpressure_paused: "0", workers_active: "0" })
  })

  it("random operation sequences: same answers and same namespace after every step", async () => {
    const seen: Seen = new Map()
    // most runs seed the ordering base first, as every backfill does; some do not (calls it refuses)
    const seeded = fc.option(fc.record({ op: fc.constant("ensureBase" as const), base: fc.integer({ min: -1, max: 1 }) }), { freq: 6 })
    const sequences = fc.tuple(seeded, fc.array(opArb, { minLength: 10, maxLength: 60, size: "max" }))
      .map(([base, ops]): ReadonlyArray<Op> => (base === null ? ops : [base, ...ops]))
    await fc.assert(fc.asyncProperty(sequences, (ops) => runBoth(ops, { seen }).then(() => undefined)), { numRuns: propertyRuns(50), seed: 1407 })
    // the sequences reached what the contract is about
    const reached = (what: string) => seen.get(what) ?? 0
    expect(reached("complete:ok"), JSON.stringify([...seen])).toBeGreaterThan(50)
    for (const what of ["complete:advanced-over-ready", "reset:ready-epoch", "cleanup:purged", "read:>:entries", "read:0:entries", "state:consumed", "state:unfinished", "state:orphaned"]) {
      expect(reached(what), `${what}: ${JSON.stringify([...seen])}`).toBeGreaterThan(5)
    }
    for (const what of ["reset:StoreContractViolation", "append:ProducerLockLost", "purge:NoRegisteredConsumer", "purge:ConsumerNotFinished", "acquire:ProducerLockHeld"]) {
      expect(reached(what), `${what}: ${JSON.stringify([...seen])}`).toBeGreaterThan(0)
    }
  }, 300_000)

  it("the completion stamps :meta with its own stream's first and last entry times", async () => {
    const memory = makeMemoryEpochStore({ prefix: "m:" })
    await Effect.runPromise(Effect.gen(function*() {
      yield* memory.ensureOrderingBase(0)
      yield* memory.appendBatch(1, batchOf(1, 2, 2, false))
      yield* Effect.sleep(Duration.millis(5))
      yield* memory.appendBatch(1, batchOf(1, 2, 4, false))
      yield* memory.markEpochComplete(1, 4)
    }))
    const { streams, meta } = memory.state()
    const ids = streams["1"]!.entries.map(([id]) => id.split("-")[0])
    expect(meta["1"]).toMatchObject({ first_xadd_ts_ms: ids[0], last_xadd_ts_ms: ids[1] })
    expect(Number(ids[1])).toBeGreaterThan(Number(ids[0]))
  })

  it("the event stream's cap: the memory store keeps exactly the newest eventStreamMaxLen, Redis at least those", async () => {
    const ops: Array<Op> = [{ op: "ensureBase", base: 0 }]
    for (let e = 1; e <= 150; e++) ops.push({ op: "append", epoch: e, blocks: 1, lastHeight: e, buffer: false }, { op: "complete", epoch: e, lastHeight: e })
    const prefix = newPrefix()
    const redis = redisSide(prefix, { eventStreamMaxLen: 10 })
    const memory = memorySide(makeMemoryEpochStore({ prefix, eventStreamMaxLen: 10 }))
    for (const op of ops) {
      const batch = op.op === "append" ? batchOf(op.epoch, op.blocks, op.lastHeight, false) : undefined
      expect(await apply(memory, op, batch)).toEqual(await apply(redis, op, batch))
    }
    const r = (await redis.dump()).events.map(([, f]) => f)
    const m = (await memory.dump()).events.map(([, f]) => f)
    expect(m.length).toBe(10)
    expect(r.length).toBeGreaterThanOrEqual(10)
    expect(r.length).toBeLessThan(150)
    expect(m).toEqual(r.slice(-10))
    await deleteByPrefix(client, prefix)
  })

  it("lock expiry: a lock past its TTL is free on both, and its old owner's refresh finds the new holder", async () => {
    const prefix = newPrefix()
    const sides = [redisSide(prefix), memorySide(makeMemoryEpochStore({ prefix }))]
    const results = []
    for (const side of sides) {
      const s = side.store
      const out: Array<unknown> = []
      out.push(await outcome(s.acquireProducerLock("B", 80)))
      out.push(untimedResult(await outcome(s.acquireProducerLock("C", 10_000)))) // still B's
      await new Promise((r) => setTimeout(r, 250))
      out.push(await outcome(s.acquireProducerLock("C", 10_000))) // B expired
      out.push(untimedResult(await outcome(s.refreshProducerLock("B", 10_000))))
      out.push(await outcome(s.releaseProducerLock("C")))
      out.push(untimedResult(await outcome(s.refreshProducerLock("C", 10_000)))) // nobody: expired
      results.push(out)
    }
    expect(results[1]).toEqual(results[0])
    expect((results[0]![3] as Outcome<void> & { ok: false }).error).toMatchObject({ _tag: "ProducerLockHeld" })
    expect((results[0]![3] as { error: Failure }).error.message).toContain("another backfill (C)")
    expect((results[0]![5] as { error: Failure }).error.message).toContain("nobody (expired)")
    await deleteByPrefix(client, prefix)
  })

  it("holdProducerLock: the refresh loop finds the lock taken over, producerLockLost fires, later writes are refused", async () => {
    const prefix = newPrefix()
    const sides = [redisSide(prefix), memorySide(makeMemoryEpochStore({ prefix }))]
    const results = []
    for (const side of sides) {
      const s = side.store
      const out = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        yield* s.holdProducerLock("A", 150)
        const lost = yield* Effect.forkChild(Effect.flip(s.producerLockLost()))
        yield* s.ensureOrderingBase(0)
        yield* Effect.sleep(Duration.millis(300)) // refreshed past its TTL
        const held = side.name === "redis" ? yield* Effect.promise(() => client.get(s.keys.producerLock)) : (s as MemoryEpochStore).state().producerLock?.holder
        yield* Effect.promise(() => side.setLock("X", 10_000))
        const error = yield* Fiber.join(lost).pipe(Effect.timeout(Duration.seconds(5)))
        const write = yield* Effect.promise(() => outcome(s.appendBatch(1, batchOf(1, 1, 1, false))))
        // a part of a batch is fenced like a whole one
        const stage = yield* Effect.promise(() => outcome(s.stageBatchPart(1, Buffer.from("[1,"), 0)))
        // and so are the run's own metrics: its heartbeat cannot stamp over the new holder's
        const heartbeat = yield* Effect.promise(() => outcome(s.heartbeat()))
        const paused = yield* Effect.promise(() => outcome(s.setBackpressurePaused(true)))
        const workers = yield* Effect.promise(() => outcome(s.noteBatchStarted(1, 2)))
        return { held, lost: failureOf(error), write, stage, heartbeat, paused, workers }
      })))
      results.push(out)
      await side.setLock(undefined)
    }
    expect(results[1]).toEqual(results[0])
    expect(results[0]).toMatchObject({ held: "A", lost: { _tag: "ProducerLockLost" }, write: { ok: false, error: { _tag: "ProducerLockLost" } } })
    expect(results[0]).toMatchObject({ stage: { ok: false, error: { _tag: "ProducerLockLost" } } })
    for (const metric of ["heartbeat", "paused", "workers"] as const) {
      expect(results[0]![metric], metric).toMatchObject({ ok: false, error: { _tag: "ProducerLockLost" } })
    }
    expect(await client.hgetall(`${prefix}metrics`), "nothing of the fenced run's metrics landed").toEqual({})
    expect(results[0]!.lost.message).toContain("now held by X")
    await deleteByPrefix(client, prefix)
  })

  it("a batch staged in parts (split anywhere, even inside a character) is the entry one appendBatch writes; a missing part is refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 2_000 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 50 }),
        async (blocks, cuts, hole) => {
          const whole = batchOf(1, blocks, blocks, true)
          const bytes = whole.data as Buffer
          const at = [0, ...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length]
          const parts = at.slice(1).map((end, i) => bytes.subarray(at[i]!, end))
          const prefix = newPrefix()
          const sides = [redisSide(prefix), memorySide(makeMemoryEpochStore({ prefix }))]
          const results = []
          for (const side of sides) {
            const s = side.store
            await Effect.runPromise(s.ensureOrderingBase(0))
            let staged = 0
            for (const part of parts.slice(0, -1)) {
              expect(await outcome(s.stageBatchPart(1, part, staged))).toEqual({ ok: true, value: undefined })
              staged += part.length
            }
            const last = parts[parts.length - 1]!
            const appended = await outcome(s.appendBatch(1, { data: last, blockCount: blocks, lastHeight: blocks, byteLength: bytes.length, staged }))
            // epoch 2: the same parts with one part's bytes short, at the stage or at the last part
            await outcome(s.stageBatchPart(2, parts[0]!, 0))
            const short = await outcome(s.appendBatch(2, { data: last, blockCount: blocks, lastHeight: blocks, staged: parts[0]!.length + hole }))
            const shortStage = await outcome(s.stageBatchPart(2, last, parts[0]!.length + hole))
            const state = await side.dump()
            // the STAGED reply as both stores word it (Redis's message adds the operation and server)
            const reply = (o: typeof short) => (o.ok ? undefined : /STAGED .*/.exec(o.error.message)?.[0])
            const entries = Object.fromEntries(Object.entries(state.streams).map(([e, st]) => [e, st.entries.map(([, f]) => f)]))
            results.push({ appended, short: reply(short), shortStage: reply(shortStage), entries, meta: state.meta, staging: state.staging })
            await deleteByPrefix(client, prefix)
          }
          expect(results[1]).toEqual(results[0])
          const r = results[0]!
          expect(r.appended.ok).toBe(true)
          expect(r.entries["1"]).toEqual([["type", "batch", "epoch", "1", "data", bytes.toString("utf8")]])
          expect(r.meta["1"]).toMatchObject({ bytes_total: String(bytes.length), blocks_total: String(blocks) })
          expect(r.short).toBe(`STAGED ${prefix}staging:2 holds ${parts[0]!.length} bytes of the batch, not ${parts[0]!.length + hole}`)
          expect(r.shortStage).toBe(r.short)
          expect(r.entries["2"]).toBeUndefined()
          // the staged batch became the entry (nothing left staged); epoch 2's part waits for its rest
          expect(r.staging).toEqual({ "2": parts[0]!.length })
        }
      ),
      { numRuns: propertyRuns(25) }
    )
  }, 120_000)

  it("waitForBackpressure: pauses while lag ≥ max, flags the edges, resumes once a consumer drains and the cleanup reclaims", async () => {
    const prefix = newPrefix()
    const sides = [redisSide(prefix), memorySide(makeMemoryEpochStore({ prefix }))]
    const results = []
    for (const side of sides) {
      const s = side.store
      for (const op of [{ op: "ensureBase", base: -1 }, ...[0, 1, 2, 3, 4, 5].flatMap((e) => [
        { op: "append", epoch: e, blocks: 1, lastHeight: e, buffer: false },
        { op: "complete", epoch: e, lastHeight: e },
        { op: "createGroup", epoch: e, group: "g", from: "0" }
      ])] as ReadonlyArray<Op>) await apply(side, op, op.op === "append" ? batchOf(op.epoch, 1, op.lastHeight, false) : undefined)
      const out = await Effect.runPromise(Effect.gen(function*() {
        const lag = yield* s.unconsumedLag()
        const waiting = yield* Effect.forkChild(s.waitForBackpressure({ maxUnconsumedEpochs: 5, pollInterval: Duration.millis(20) }))
        yield* Effect.sleep(Duration.millis(150))
        const stillWaiting = waiting.pollUnsafe() === undefined
        const paused = (yield* Effect.promise(() => side.dump())).metrics["backpressure_paused"]
        yield* Effect.promise(async () => {
          await side.readGroup(0, "g", "c", 10, ">")
          const ids = (await side.dump()).streams["0"]!.groups[0]!.pending.map(([id]) => id)
          await side.ack(0, "g", ids)
        })
        const pass = yield* s.cleanupPass()
        yield* Fiber.join(waiting).pipe(Effect.timeout(Duration.seconds(5)))
        const metrics = untimed((yield* Effect.promise(() => side.dump())).metrics)
        return { lag, stillWaiting, paused, pass, lagAfter: yield* s.unconsumedLag(), metrics }
      }))
      results.push(out)
    }
    expect(results[1]).toEqual(results[0])
    expect(results[0]).toMatchObject({ lag: 5, stillWaiting: true, paused: "1", lagAfter: 4, metrics: { backpressure_paused: "0", backpressure_paused_since: "" } })
    await deleteByPrefix(client, prefix)
  })
})

describe("EpochStore in memory, on its own", () => {
  it("runs on the Effect clock: under a TestClock the held lock outlives its TTL many times over and entry ids are clock times", async () => {
    const memory = makeMemoryEpochStore({ prefix: "m:" })
    const other = memory.connect()
    const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* memory.holdProducerLock("A", 1_000)
      yield* memory.ensureOrderingBase(0)
      yield* memory.appendBatch(1, batchOf(1, 1, 1, false))
      yield* TestClock.adjust(Duration.minutes(10))
      yield* memory.appendBatch(1, batchOf(1, 1, 2, false)) // still ours: the refresh ran on the virtual clock
      const taken = yield* Effect.flip(other.acquireProducerLock("B", 1_000))
      return { taken, state: memory.state() }
    })).pipe(Effect.provide(TestClock.layer())))
    expect(result.taken).toMatchObject({ _tag: "ProducerLockHeld", holder: "A" })
    expect(result.state.streams["1"]!.entries.map(([id]) => id)).toEqual(["1000000-0", `${1_000_000 + 600_000}-0`])
  })

  it("a second client of the namespace shares its data but not its fence", async () => {
    const a = makeMemoryEpochStore({ prefix: "m:" })
    const b = a.connect()
    await Effect.runPromise(Effect.gen(function*() {
      yield* a.acquireProducerLock("A", 60_000)
      yield* a.ensureOrderingBase(4)
      expect(yield* b.getLastSyncedEpoch()).toBe(4)
      yield* a.setProducerLock("B", 60_000) // B took the prefix over
      yield* b.acquireProducerLock("B", 60_000)
      yield* b.resetEpochState(5)
      const refused = yield* Effect.flip(a.resetEpochState(5))
      expect(refused).toMatchObject({ _tag: "ProducerLockLost", holder: "B" })
    }))
  })
})

