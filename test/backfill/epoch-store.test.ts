import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import type { Block } from "../../src/domain/block.js"
import { encodeBlocks } from "../../src/domain/wire-format.js"
import { EpochStore, encodeBatch, makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { createGroup, deleteByPrefix, drainGroup, keysUnder, TEST_REDIS_URL, testRedis, uniquePrefix } from "./redis-helpers.js"
import { makeConnection } from "../../src/layers/RedisLive.js"

const hash = (n: number, salt = "a") => n.toString(16).padStart(64, salt)
const block = (height: number, epoch = 0): Block => ({
  type: "praos",
  era: "conway",
  id: hash(height),
  ancestor: hash(height - 1),
  height,
  slot: epoch * 432_000 + height,
  size: { bytes: 100 },
  protocol: { version: { major: 10, minor: 0 } },
  transactions: [{ id: hash(height, "c"), fee: { ada: { lovelace: 123456789012345678901234567890n } } }]
})
const blocks = (from: number, to: number, epoch = 0) => Array.from({ length: to - from + 1 }, (_, i) => block(from + i, epoch))

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (!Exit.isFailure(exit)) return undefined
  const f = exit.cause.reasons.find((r) => r._tag === "Fail")
  return f && "error" in f ? f.error : undefined
}

const setup = Effect.gen(function*() {
  const t = yield* testRedis
  const store = makeEpochStore(t.conn, { prefix: t.prefix })
  /** relay one epoch completely: reset, batches, complete */
  const relay = (epoch: number, from: number, to: number, batch = 3) =>
    Effect.gen(function*() {
      yield* store.resetEpochState(epoch)
      for (let h = from; h <= to; h += batch) yield* store.appendBatch(epoch, encodeBatch(blocks(h, Math.min(to, h + batch - 1), epoch)))
      return yield* store.markEpochComplete(epoch, to)
    })
  const events = () =>
    Effect.promise(() => t.client.xrange(store.keys.eventStream, "-", "+")).pipe(
      Effect.map((es) => es.map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i]!, f[2 * i + 1]!]))))
    )
  const metrics = () => Effect.promise(() => t.client.hgetall(store.keys.metrics))
  return { ...t, store, relay, events, metrics }
})

describe("EpochStore: namespace and ordering base", () => {
  it.live("status on an empty namespace is all unset, consistent, and writes nothing", () =>
    Effect.gen(function*() {
      const { store, client, prefix } = yield* setup
      expect(yield* store.status()).toEqual({
        last_synced_epoch: null,
        low_watermark: null,
        epochs_individually_completed_pending_sync: 0,
        epochs_with_active_resume_points: 0,
        ordering_consistent: true,
        redis_connection: "ok"
      })
      expect(yield* store.unconsumedLag()).toBe(0)
      expect(yield* store.getLastSyncedEpoch()).toBeUndefined()
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual([])
    }))

  it.live("ensureOrderingBase seeds both keys once (MULTI SETNX) and reports whether it seeded", () =>
    Effect.gen(function*() {
      const { store, client } = yield* setup
      expect(yield* store.ensureOrderingBase(207)).toEqual({ base: 207, seeded: true })
      expect(yield* store.ensureOrderingBase(300)).toEqual({ base: 207, seeded: false })
      expect(yield* Effect.promise(() => client.get(store.keys.lowWatermark))).toBe("208")
      yield* store.resetOrderingBase(250)
      expect(yield* store.getLastSyncedEpoch()).toBe(250)
      expect(yield* store.getLowWatermark()).toBe(208)
      const s = yield* store.status()
      expect(s).toMatchObject({ last_synced_epoch: 250, low_watermark: 208, ordering_consistent: true })
      yield* Effect.promise(() => client.set(store.keys.lowWatermark, "260"))
      expect((yield* store.status()).ordering_consistent).toBe(false)
    }))
})

describe("EpochStore: batches and the ordered commit (Lua advance)", () => {
  it.live("appendBatch writes exactly {type, epoch, data}, resume_map, metrics and :meta in one transaction", () =>
    Effect.gen(function*() {
      const { store, client, metrics } = yield* setup
      yield* store.ensureOrderingBase(207)
      yield* store.resetEpochState(208)
      const b1 = encodeBatch(blocks(10, 12, 208))
      const b2 = encodeBatch(blocks(13, 13, 208))
      yield* store.appendBatch(208, b1)
      expect(yield* store.getEpochResumeHeight(208)).toBe(12)
      yield* store.appendBatch(208, b2)
      const entries = yield* Effect.promise(() => client.xrange(store.keys.stream(208), "-", "+"))
      expect(entries.map(([, f]) => f)).toEqual([
        ["type", "batch", "epoch", "208", "data", encodeBlocks(blocks(10, 12, 208))],
        ["type", "batch", "epoch", "208", "data", encodeBlocks(blocks(13, 13, 208))]
      ])
      expect(entries[0]![1][5]).toContain("123456789012345678901234567890") // bigint digit-exact
      expect(yield* store.getEpochResumeHeight(208)).toBe(13)
      expect((yield* metrics())["blocks_total"]).toBe("4")
      const meta = yield* Effect.promise(() => client.hgetall(store.keys.meta(208)))
      expect(meta["bytes_total"]).toBe(String(Buffer.byteLength(b1.data) + Buffer.byteLength(b2.data)))

      expect(yield* store.markEpochComplete(208, 13)).toBe(208)
      const stamped = yield* Effect.promise(() => client.hgetall(store.keys.meta(208)))
      expect(stamped["first_xadd_ts_ms"]).toBe(entries[0]![0].split("-")[0])
      expect(stamped["last_xadd_ts_ms"]).toBe(entries[1]![0].split("-")[0])
    }))

  it.live("epochs above a gap wait in ready_set; filling the gap advances over all of them, one event each", () =>
    Effect.gen(function*() {
      const { store, client, relay, events, metrics } = yield* setup
      yield* store.ensureOrderingBase(207)
      expect(yield* relay(210, 300, 305)).toBe(207)
      expect(yield* relay(209, 200, 205)).toBe(207)
      expect((yield* Effect.promise(() => client.smembers(store.keys.readySet))).sort()).toEqual(["209", "210"])
      expect(yield* events()).toEqual([])
      expect((yield* store.status()).epochs_individually_completed_pending_sync).toBe(2)

      expect(yield* relay(208, 100, 104)).toBe(210)
      expect(yield* events()).toEqual([
        { type: "epoch_complete", epoch: "208", last_height: "104" },
        { type: "epoch_complete", epoch: "209", last_height: "205" },
        { type: "epoch_complete", epoch: "210", last_height: "305" }
      ])
      expect(yield* Effect.promise(() => client.scard(store.keys.readySet))).toBe(0)
      expect(yield* Effect.promise(() => client.hlen(store.keys.resumeMap))).toBe(0)
      expect((yield* metrics())["epochs_total"]).toBe("3")
      expect(yield* store.getLastSyncedEpoch()).toBe(210)
    }))

  it.live("markEpochComplete fails when last_synced_epoch is unset, and writes nothing", () =>
    Effect.gen(function*() {
      const { store, client, prefix } = yield* setup
      yield* store.appendBatch(208, encodeBatch(blocks(1, 2)))
      const before = yield* Effect.promise(() => keysUnder(client, prefix))
      const err = errorOf(yield* Effect.exit(store.markEpochComplete(208, 2)))
      expect(err).toMatchObject({ _tag: "StoreContractViolation" })
      expect((err as Error).message).toContain("last_synced_epoch is unset: call ensureOrderingBase first")
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual(before)
      expect(yield* Effect.promise(() => client.scard(store.keys.readySet))).toBe(0)
    }))

  it.live("no duplicate epoch_complete: re-completing a committed epoch, or a ready epoch re-relayed after a failure", () =>
    Effect.gen(function*() {
      const { store, relay, events, metrics } = yield* setup
      yield* store.ensureOrderingBase(207)
      yield* relay(208, 1, 3)
      expect(yield* store.markEpochComplete(208, 3)).toBe(208) // again: already committed
      // weak point 3: 210 completed above a failed 209, then re-relayed by the rerun
      yield* relay(210, 7, 9)
      yield* relay(210, 7, 9)
      yield* relay(209, 4, 6)
      expect((yield* events()).map((e) => e["epoch"])).toEqual(["208", "209", "210"])
      expect((yield* metrics())["epochs_total"]).toBe("3")
    }))

  it.live("a reset attempt does not inflate blocks_total or :meta bytes_total, and a committed epoch cannot be reset", () =>
    Effect.gen(function*() {
      const { store, client, metrics } = yield* setup
      yield* store.ensureOrderingBase(207)
      yield* store.resetEpochState(208)
      yield* store.appendBatch(208, encodeBatch(blocks(1, 3)))
      yield* store.appendBatch(208, encodeBatch(blocks(4, 6)))
      // the attempt fails; the retry resets and writes the epoch again
      yield* store.resetEpochState(208)
      expect(yield* store.getEpochResumeHeight(208)).toBeUndefined()
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(208), store.keys.meta(208)))).toBe(0)
      const retry = encodeBatch(blocks(1, 2))
      yield* store.appendBatch(208, retry)
      expect((yield* metrics())["blocks_total"]).toBe("2")
      expect(yield* Effect.promise(() => client.hget(store.keys.meta(208), "bytes_total"))).toBe(String(Buffer.byteLength(retry.data)))
      expect(yield* Effect.promise(() => client.xlen(store.keys.stream(208)))).toBe(1)
      yield* store.markEpochComplete(208, 2)
      const err = errorOf(yield* Effect.exit(store.resetEpochState(208)))
      expect(err).toMatchObject({ _tag: "StoreContractViolation" })
      expect(yield* Effect.promise(() => client.xlen(store.keys.stream(208)))).toBe(1)
    }))

  it.live("event_stream is capped (XADD MAXLEN ~)", () =>
    Effect.gen(function*() {
      const t = yield* testRedis
      const store = makeEpochStore(t.conn, { prefix: t.prefix, eventStreamMaxLen: 10 })
      yield* store.ensureOrderingBase(0)
      for (let e = 1; e <= 250; e++) {
        yield* store.appendBatch(e, encodeBatch(blocks(e, e)))
        yield* store.markEpochComplete(e, e)
      }
      expect(yield* store.getLastSyncedEpoch()).toBe(250)
      const len = yield* Effect.promise(() => t.client.xlen(store.keys.eventStream))
      expect(len).toBeGreaterThanOrEqual(10)
      expect(len).toBeLessThan(250)
    }))
})

describe("EpochStore: fully-consumed classification, purge and cleanup", () => {
  it.live("classification follows XINFO GROUPS/STREAM: pending 0 and last-delivered-id == last-generated-id", () =>
    Effect.gen(function*() {
      const { store, client } = yield* setup
      const key = store.keys.stream(300)
      expect((yield* store.classifyStream(300)).state).toBe("absent")
      yield* store.appendBatch(300, encodeBatch(blocks(1, 2)))
      yield* store.appendBatch(300, encodeBatch(blocks(3, 4)))
      expect((yield* store.classifyStream(300)).state).toBe("orphaned")
      yield* Effect.promise(() => createGroup(client, key, "g1"))
      expect(yield* store.classifyStream(300)).toMatchObject({ state: "unfinished", groups: ["g1"] })
      yield* Effect.promise(() => drainGroup(client, key, "g1", false)) // delivered, not acked
      expect((yield* store.classifyStream(300)).state).toBe("unfinished")
      const pending = yield* Effect.promise(() => client.xpending(key, "g1", "-", "+", 10)) as Effect.Effect<Array<[string]>>
      for (const [id] of pending) yield* Effect.promise(() => client.xack(key, "g1", id))
      expect((yield* store.classifyStream(300)).state).toBe("consumed")
      // a second group that has read nothing yet
      yield* Effect.promise(() => createGroup(client, key, "g2"))
      expect(yield* store.classifyStream(300)).toMatchObject({ state: "unfinished", groups: ["g1", "g2"] })
      yield* Effect.promise(() => drainGroup(client, key, "g2"))
      expect((yield* store.classifyStream(300)).state).toBe("consumed")
      // a group created at $ after the data counts as consumed at once (weak point 4, documented)
      yield* store.appendBatch(301, encodeBatch(blocks(5, 6)))
      yield* Effect.promise(() => createGroup(client, store.keys.stream(301), "late", "$"))
      expect((yield* store.classifyStream(301)).state).toBe("consumed")
      // lag unknown (a deleted entry past the group's position): falls back to comparing ids
      yield* store.appendBatch(302, encodeBatch(blocks(7, 7)))
      yield* Effect.promise(() => createGroup(client, store.keys.stream(302), "g"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(302), "g"))
      yield* store.appendBatch(302, encodeBatch(blocks(8, 8)))
      yield* store.appendBatch(302, encodeBatch(blocks(9, 9)))
      const ids = (yield* Effect.promise(() => client.xrange(store.keys.stream(302), "-", "+"))).map(([id]) => id)
      yield* Effect.promise(() => client.xdel(store.keys.stream(302), ids[1]!))
      const groups = (yield* Effect.promise(() => client.xinfo("GROUPS", store.keys.stream(302)))) as Array<Array<unknown>>
      expect(groups[0]![groups[0]!.indexOf("lag") + 1]).toBeNull()
      expect((yield* store.classifyStream(302)).state).toBe("unfinished")
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(302), "g"))
      expect((yield* store.classifyStream(302)).state).toBe("consumed")
    }))

  it.live("purge: absent streams only move low_watermark", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      expect(yield* store.purgeStaleStreams(300)).toEqual({ purged: 0, orphans: [], lowWatermark: undefined }) // unset: no-op
      yield* store.ensureOrderingBase(207)
      expect(yield* store.purgeStaleStreams(208)).toEqual({ purged: 0, orphans: [], lowWatermark: 208 }) // lw ≥ upTo
      expect(yield* store.purgeStaleStreams(212)).toEqual({ purged: 0, orphans: [], lowWatermark: 212 })
      expect(yield* store.getLowWatermark()).toBe(212)
    }))

  it.live("purge refuses an orphan (exit 12) before deleting anything, and drops it with purgeOrphans", () =>
    Effect.gen(function*() {
      const { store, client, prefix } = yield* setup
      yield* store.ensureOrderingBase(207)
      yield* store.appendBatch(208, encodeBatch(blocks(1, 2)))
      yield* Effect.promise(() => createGroup(client, store.keys.stream(208), "g"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(208), "g")) // 208 consumed
      yield* store.appendBatch(209, encodeBatch(blocks(3, 4))) // 209 orphaned
      yield* store.appendBatch(210, encodeBatch(blocks(5, 6))) // 210 orphaned
      const before = yield* Effect.promise(() => keysUnder(client, prefix))
      const err = errorOf(yield* Effect.exit(store.purgeStaleStreams(211)))
      expect(err).toMatchObject({ _tag: "NoRegisteredConsumer", epoch: 209, streamKey: store.keys.stream(209), exitCode: 12 })
      expect((err as Error).message).toContain(`cannot purge epoch 209 (${store.keys.stream(209)}): no consumer group has registered`)
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual(before) // 208 (consumed) not deleted either
      expect(yield* store.getLowWatermark()).toBe(208)

      const ok = yield* store.purgeStaleStreams(211, { purgeOrphans: true })
      expect(ok).toEqual({ purged: 3, orphans: [209, 210], lowWatermark: 211 })
      const left = yield* Effect.promise(() => keysUnder(client, `${prefix}epoch:`))
      expect(left).toEqual([])
      expect(yield* Effect.promise(() => client.hlen(store.keys.resumeMap))).toBe(0)
      expect(yield* store.getLowWatermark()).toBe(211)
    }))

  it.live("purge refuses unconsumed data with active groups (exit 13) before deleting anything", () =>
    Effect.gen(function*() {
      const { store, client, prefix } = yield* setup
      yield* store.ensureOrderingBase(207)
      for (const e of [208, 209]) {
        yield* store.appendBatch(e, encodeBatch(blocks(e * 10, e * 10 + 1)))
        yield* Effect.promise(() => createGroup(client, store.keys.stream(e), "a"))
        yield* Effect.promise(() => createGroup(client, store.keys.stream(e), "b"))
      }
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(208), "a"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(208), "b"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(209), "a"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(209), "b", false)) // b read but not acked
      const before = yield* Effect.promise(() => keysUnder(client, prefix))
      const err = errorOf(yield* Effect.exit(store.purgeStaleStreams(210, { purgeOrphans: true })))
      expect(err).toMatchObject({ _tag: "ConsumerNotFinished", epoch: 209, groups: ["a", "b"], exitCode: 13 })
      expect((err as Error).message).toContain(`cannot purge epoch 209 (${store.keys.stream(209)}): unconsumed data with 2 active consumer group(s)`)
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual(before)

      const pending = (yield* Effect.promise(() => client.xpending(store.keys.stream(209), "b", "-", "+", 10))) as Array<[string]>
      for (const [id] of pending) yield* Effect.promise(() => client.xack(store.keys.stream(209), "b", id))
      expect(yield* store.purgeStaleStreams(210)).toEqual({ purged: 2, orphans: [], lowWatermark: 210 })
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(208), store.keys.stream(209), store.keys.meta(208)))).toBe(0)
    }))

  it.live("cleanup pass: drops consumed streams below last_synced in order, stops at the first unconsumed, keeps last_synced", () =>
    Effect.gen(function*() {
      const { store, client, relay, metrics } = yield* setup
      expect((yield* store.cleanupPass()).skipped).toBe(true)
      expect((yield* metrics())["last_cleanup_at"]).toBeUndefined()
      yield* store.ensureOrderingBase(207)
      yield* relay(208, 1, 2)
      yield* relay(209, 3, 4)
      yield* Effect.promise(() => client.del(store.keys.stream(209))) // 209 absent
      yield* relay(210, 5, 6)
      yield* relay(211, 7, 8)
      // consumers register once an epoch is published (≤ last_synced_epoch)
      for (const e of [208, 210, 211]) yield* Effect.promise(() => createGroup(client, store.keys.stream(e), "g"))
      expect(yield* store.getLastSyncedEpoch()).toBe(211)
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(208), "g"))

      const first = yield* store.cleanupPass()
      expect(first).toEqual({ skipped: false, purged: 1, lowWatermark: 210, stoppedAt: 210, stoppedBecause: "unfinished" })
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(208), store.keys.meta(208)))).toBe(0)
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(210)))).toBe(1)
      const m = yield* metrics()
      expect(m["streams_purged_total"]).toBe("1")
      expect(m["last_cleanup_at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/)

      yield* Effect.promise(() => drainGroup(client, store.keys.stream(210), "g"))
      yield* Effect.promise(() => drainGroup(client, store.keys.stream(211), "g"))
      const second = yield* store.cleanupPass()
      expect(second).toMatchObject({ purged: 1, lowWatermark: 211, stoppedAt: undefined })
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(211)))).toBe(1) // the last-synced stream is kept
      expect((yield* metrics())["streams_purged_total"]).toBe("2")
    }))

  it.live("cleanup never drops an orphaned stream", () =>
    Effect.gen(function*() {
      const { store, client, relay } = yield* setup
      yield* store.ensureOrderingBase(207)
      yield* relay(208, 1, 2)
      yield* relay(209, 3, 4)
      expect(yield* store.cleanupPass()).toMatchObject({ purged: 0, lowWatermark: 208, stoppedAt: 208, stoppedBecause: "orphaned" })
      expect(yield* Effect.promise(() => client.exists(store.keys.stream(208)))).toBe(1)
    }))
})

describe("EpochStore: backpressure, lock, heartbeat", () => {
  it.live("lag = last_synced − low_watermark; waitForBackpressure pauses while lag ≥ max and flags the edges", () =>
    Effect.gen(function*() {
      const { store, client, relay, metrics } = yield* setup
      yield* store.ensureOrderingBase(207)
      for (let e = 208; e <= 213; e++) {
        yield* relay(e, e * 10, e * 10 + 1)
        yield* Effect.promise(() => createGroup(client, store.keys.stream(e), "g"))
      }
      expect(yield* store.unconsumedLag()).toBe(5)
      yield* store.waitForBackpressure({ maxUnconsumedEpochs: 6, pollInterval: Duration.millis(20) }) // below max: returns at once
      expect((yield* metrics())["backpressure_paused"]).toBeUndefined()

      const fiber = yield* Effect.forkChild(store.waitForBackpressure({ maxUnconsumedEpochs: 5, pollInterval: Duration.millis(20) }))
      yield* Effect.sleep(Duration.millis(150))
      expect(fiber.pollUnsafe()).toBeUndefined() // still waiting
      const paused = yield* metrics()
      expect(paused["backpressure_paused"]).toBe("1")
      expect(paused["backpressure_paused_since"]).toMatch(/\+00:00$/)

      yield* Effect.promise(() => drainGroup(client, store.keys.stream(208), "g"))
      yield* store.cleanupPass()
      expect(yield* store.unconsumedLag()).toBe(4)
      yield* Fiber.join(fiber)
      const resumed = yield* metrics()
      expect(resumed["backpressure_paused"]).toBe("0")
      expect(resumed["backpressure_paused_since"]).toBe("")
    }))

  it.live("producer lock: exclusive per prefix, re-entrant for its owner, compare-and-delete release, expiry", () =>
    Effect.gen(function*() {
      const { store, client } = yield* setup
      yield* store.acquireProducerLock("run-A", 10_000)
      yield* store.acquireProducerLock("run-A", 10_000) // re-entrant
      const held = errorOf(yield* Effect.exit(store.acquireProducerLock("run-B", 10_000)))
      expect(held).toMatchObject({ _tag: "ProducerLockHeld", holder: "run-A", exitCode: 15 })
      expect((held as Error).message).toContain("another backfill (run-A)")
      expect(yield* store.releaseProducerLock("run-B")).toBe(false)
      expect(yield* Effect.promise(() => client.get(store.keys.producerLock))).toBe("run-A")
      expect(yield* store.releaseProducerLock("run-A")).toBe(true)
      yield* store.acquireProducerLock("run-B", 80)
      yield* Effect.sleep(Duration.millis(200))
      yield* store.acquireProducerLock("run-C", 10_000) // B expired
      const lost = errorOf(yield* Effect.exit(store.refreshProducerLock("run-B", 10_000)))
      expect(lost).toMatchObject({ _tag: "ProducerLockHeld", holder: "run-C" })
      // another prefix is independent
      const other = makeEpochStore((yield* setup).conn, { prefix: uniquePrefix() })
      yield* other.acquireProducerLock("run-B", 1_000)
      yield* other.releaseProducerLock("run-B")
    }))

  it.live("holdProducerLock keeps the lock alive past its TTL and releases it with the scope", () =>
    Effect.gen(function*() {
      const { store, client } = yield* setup
      yield* Effect.scoped(Effect.gen(function*() {
        yield* store.holdProducerLock("holder", 150)
        yield* Effect.sleep(Duration.millis(500))
        expect(yield* Effect.promise(() => client.get(store.keys.producerLock))).toBe("holder")
        expect(errorOf(yield* Effect.exit(store.acquireProducerLock("intruder", 1000)))).toMatchObject({ _tag: "ProducerLockHeld" })
      }))
      expect(yield* Effect.promise(() => client.get(store.keys.producerLock))).toBeNull()
    }))

  it.live("heartbeat and batch notes write the §6 metrics fields", () =>
    Effect.gen(function*() {
      const { store, metrics } = yield* setup
      yield* store.heartbeat()
      yield* store.noteBatchStarted(3, 4)
      let m = yield* metrics()
      expect(m["last_heartbeat_ts"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/)
      expect(Math.abs(Date.parse(m["last_heartbeat_ts"]!) - Date.now())).toBeLessThan(5_000)
      expect([m["workers_active"], m["workers_max"]]).toEqual(["3", "4"])
      yield* store.noteBatchFinished()
      m = yield* metrics()
      expect(m["workers_active"]).toBe("0")
    }))

  it.live("is provided as a layer over RedisLive", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix()
      const conn = yield* makeConnection({ url: Redacted.make(TEST_REDIS_URL) }).pipe(Effect.orDie)
      yield* Effect.addFinalizer(() => Effect.promise(() => deleteByPrefix(conn.client, prefix)))
      const base = yield* Effect.gen(function*() {
        const store = yield* EpochStore
        expect(store.prefix).toBe(prefix)
        return yield* store.ensureOrderingBase(500)
      }).pipe(Effect.provide(EpochStore.layer({ prefix }).pipe(Layer.provide(RedisLive.layer({ url: Redacted.make(TEST_REDIS_URL) })))))
      expect(base).toEqual({ base: 500, seeded: true })
      expect(yield* Effect.promise(() => conn.client.get(`${prefix}low_watermark`))).toBe("501")
    }))
})
