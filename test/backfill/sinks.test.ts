import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Block } from "../../src/domain/block.js"
import { encodeBlock, encodeBlocks } from "../../src/domain/wire-format.js"
import { parse } from "../../src/json/lossless.js"
import { makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { listKeys, makeCliSink, makeJsonlSink, makeRedisListSink, makeRedisSink, renderBatch } from "../../src/sinks/index.js"
import { keysUnder, testRedis } from "./redis-helpers.js"

const hash = (n: number) => n.toString(16).padStart(64, "e")
const block = (height: number): Block => ({
  type: "praos", era: "babbage", id: hash(height), ancestor: hash(height - 1), height, slot: height * 20,
  size: { bytes: 300 + height }, protocol: { version: { major: 8, minor: 0 } },
  issuer: { verificationKey: "ff".repeat(32) },
  transactions: [{ id: hash(height + 1_000_000), scripts: {}, fee: { ada: { lovelace: 98765432109876543210n } } }]
})
const blocks = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => block(from + i))

describe("sinks", () => {
  it.live("redis: opening writes nothing; a retried attempt leaves only its own entries", () =>
    Effect.gen(function*() {
      const { conn, client, prefix } = yield* testRedis
      const store = makeEpochStore(conn, { prefix })
      const sink = makeRedisSink(store)
      yield* sink.open({ startEpoch: 208 })
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual([])
      expect(sink.coordinator).toBe(store)
      yield* store.ensureOrderingBase(207)
      yield* sink.beginEpoch(208)
      yield* sink.writeBatch(208, blocks(1, 3))
      yield* sink.beginEpoch(208) // retry
      yield* sink.writeBatch(208, blocks(1, 2))
      yield* sink.writeBatch(208, blocks(3, 4))
      yield* sink.writeBatch(208, [])
      yield* sink.endEpoch(208, 4)
      const entries = yield* Effect.promise(() => client.xrange(store.keys.stream(208), "-", "+"))
      expect(entries.map(([, f]) => f[5])).toEqual([encodeBlocks(blocks(1, 2)), encodeBlocks(blocks(3, 4))])
      expect(yield* store.getEpochResumeHeight(208)).toBe(4)
      expect(yield* store.markEpochComplete(208, 4)).toBe(208)
    }))

  it.live("redis-list: whole epochs, in epoch order, once each, even across retries and out-of-order completion", () =>
    Effect.gen(function*() {
      const { conn, client, prefix } = yield* testRedis
      const sink = makeRedisListSink(conn, { prefix })
      const keys = listKeys(prefix)
      yield* sink.open({ startEpoch: 208 })

      yield* sink.beginEpoch(209)
      yield* sink.writeBatch(209, blocks(20, 22))
      yield* sink.endEpoch(209, 22)
      expect(yield* Effect.promise(() => client.llen(keys.blocks))).toBe(0) // waits for 208

      yield* sink.beginEpoch(208)
      yield* sink.writeBatch(208, blocks(10, 11)) // a failed attempt
      yield* sink.beginEpoch(208)
      yield* sink.writeBatch(208, blocks(10, 12))
      yield* sink.writeBatch(208, blocks(13, 14))
      yield* sink.endEpoch(208, 14)

      const expected = [...blocks(10, 14), ...blocks(20, 22)].map((b) => encodeBlock(b))
      expect(yield* Effect.promise(() => client.lrange(keys.blocks, 0, -1))).toEqual(expected)
      expect(yield* sink.getStatus()).toEqual({ queue_length: 8, last_block_hash: hash(22), last_block_slot: "440" })

      // a later attempt at an epoch already appended is discarded, not duplicated
      yield* sink.beginEpoch(208)
      yield* sink.writeBatch(208, blocks(10, 14))
      yield* sink.endEpoch(208, 14)
      expect(yield* Effect.promise(() => client.llen(keys.blocks))).toBe(8)

      // a big epoch is appended in chunks, in order, behind the existing elements
      yield* sink.beginEpoch(210)
      for (let h = 100; h < 1300; h += 240) yield* sink.writeBatch(210, blocks(h, h + 239))
      yield* sink.endEpoch(210, 1299)
      const all = yield* Effect.promise(() => client.lrange(keys.blocks, 0, -1))
      expect(all.length).toBe(8 + 1200)
      expect(all.slice(8).map((t) => (parse(t) as { height: number }).height)).toEqual(Array.from({ length: 1200 }, (_, i) => 100 + i))
      expect(all[8]).toContain("98765432109876543210")
      expect(all[8]).not.toContain("\"scripts\"")
      expect(all[8]).not.toContain("\"issuer\"")
      // only the contract keys and the cursor remain
      expect(yield* Effect.promise(() => keysUnder(client, prefix))).toEqual([keys.blocks, keys.nextEpoch, keys.status].sort())
      expect(yield* Effect.promise(() => client.get(keys.nextEpoch))).toBe("211")
    }))

  it.live("redis-list: a window starting above the cursor moves it and drops stale ready epochs", () =>
    Effect.gen(function*() {
      const { conn, client, prefix } = yield* testRedis
      const keys = listKeys(prefix)
      const first = makeRedisListSink(conn, { prefix })
      yield* first.open({ startEpoch: 300 })
      yield* first.beginEpoch(302)
      yield* first.writeBatch(302, blocks(1, 2))
      yield* first.endEpoch(302, 2) // 300 and 301 never come
      const second = makeRedisListSink(conn, { prefix })
      yield* second.open({ startEpoch: 305 })
      expect(yield* Effect.promise(() => client.get(keys.nextEpoch))).toBe("305")
      expect(yield* Effect.promise(() => client.exists(keys.ready(302)))).toBe(0)
      yield* second.beginEpoch(305)
      yield* second.writeBatch(305, blocks(50, 51))
      yield* second.endEpoch(305, 51)
      expect(yield* Effect.promise(() => client.lrange(keys.blocks, 0, -1))).toEqual(blocks(50, 51).map((b) => encodeBlock(b)))
    }))

  it.effect("cli: one table per batch with exact counts", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const sink = makeCliSink({ write: (t) => out.push(t), maxRows: 2 })
      yield* sink.writeBatch(300, blocks(5, 7))
      yield* sink.endEpoch(300, 7)
      const lines = out[0]!.trimEnd().split("\n")
      expect(lines[0]).toBe("epoch 300: 3 block(s), heights 5–7, 3 transaction(s)")
      expect(lines[1]).toMatch(/height\s+slot\s+hash\s+txs\s+bytes/)
      expect(lines.slice(2, 4).map((l) => l.trim().split(/\s+/)[0])).toEqual(["5", "6"])
      expect(lines[4]).toBe("  … 1 more block(s)")
      expect(out[1]).toBe("epoch 300 complete (last height 7)\n")
      expect(renderBatch(1, blocks(1, 1)).split("\n")[0]).toBe("epoch 1: 1 block(s), heights 1–1, 1 transaction(s)")
    }))

  it.live("jsonl: one block per line to a file (appended) or stdout, bigint-exact, in the chosen format", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "hecate-jsonl-"))),
        (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
      )
      const path = join(dir, "blocks.jsonl")
      const sink = makeJsonlSink({ path })
      yield* sink.open({ startEpoch: 1 })
      yield* sink.writeBatch(1, blocks(1, 2))
      yield* sink.writeBatch(1, blocks(3, 3))
      yield* sink.close()
      const lines = (yield* Effect.promise(() => readFile(path, "utf8"))).split("\n")
      expect(lines).toEqual([...blocks(1, 3).map((b) => encodeBlock(b)), ""])
      expect(lines[0]).toContain(":98765432109876543210}")

      const out: Array<string> = []
      const raw = makeJsonlSink({ format: "ogmios", write: (t) => out.push(t) })
      yield* raw.open({ startEpoch: 1 })
      yield* raw.writeBatch(1, blocks(4, 5))
      expect(out.join("").split("\n").filter((l) => l !== "").map((l) => (parse(l) as Block).id)).toEqual([hash(4), hash(5)])
      expect(out[0]).toContain("\"issuer\"")

      const bad = makeJsonlSink({ path: join(dir, "missing-dir", "x.jsonl") })
      const exit = yield* Effect.exit(bad.open({ startEpoch: 1 }))
      expect(exit._tag).toBe("Failure")
    }))
})
