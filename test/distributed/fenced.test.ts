/**
 * The fence on the job lock (src/distributed/fenced.ts), on the real Redis: a worker whose lock was
 * taken over (it stalled; another worker holds the job now) can neither reset nor append to the
 * epoch, nor report its count — nothing is written; the holder's writes are the store's contract
 * (same entry fields and bookkeeping as EpochStore.appendBatch).
 */
import { Effect, Redacted } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { encodeBatch, makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { storeKeys } from "../../src/backfill/store/keys.js"
import type { Block } from "../../src/domain/block.js"
import { makeFencedWriter } from "../../src/distributed/fenced.js"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { Redis } from "../../src/services/Redis.js"
import { e2e, type E2e, REDIS_URL, xrange } from "../support/backfill-e2e.js"

let t: E2e
beforeEach(async () => {
  t = await e2e()
})
afterEach(async () => {
  await t.cleanup()
})

const block = (height: number): Block =>
  ({ id: `h${height}`, height, slot: height * 2, ancestor: `h${height - 1}`, type: "praos", era: "conway", transactions: [] }) as unknown as Block

const withRedis = <A, E>(f: (redis: Redis["Service"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Redis, f)).pipe(Effect.provide(RedisLive.layer({ url: Redacted.make(REDIS_URL) }))))

describe("writes fenced on the BullMQ job lock", () => {
  it("the lock holder writes like appendBatch; a stale attempt (token lost) writes nothing", async () => {
    const keys = storeKeys(t.prefix)
    const lockKey = `${t.prefix}bull:q:job-1:lock`
    await t.redis.set(lockKey, "token-A")
    await withRedis((redis) =>
      Effect.gen(function*() {
        yield* makeEpochStore(redis, { prefix: t.prefix }).ensureOrderingBase(4)
        const a = makeFencedWriter(redis, keys, { lockKey, token: "token-A" })
        expect(yield* a.reset(5)).toBe("reset")
        yield* a.append(5, encodeBatch([block(10), block(11)]))
        expect(yield* a.count(5)).toBe(2)
      })
    )
    const entries = await xrange(t.redis, keys.stream(5))
    expect(entries.map((e) => Object.keys(e.fields))).toEqual([["type", "epoch", "data"]])
    expect(entries[0]!.fields["epoch"]).toBe("5")
    expect(await t.redis.hget(keys.resumeMap, "5")).toBe("11")
    expect(await t.redis.hget(keys.metrics, "blocks_total")).toBe("2")
    expect(await t.redis.hget(keys.meta(5), "blocks_total")).toBe("2")
    expect(Number(await t.redis.hget(keys.meta(5), "bytes_total"))).toBe(Buffer.byteLength(entries[0]!.fields["data"]!))

    // the lock moves to another attempt (B): A is stale
    await t.redis.set(lockKey, "token-B")
    const stale = await withRedis((redis) =>
      Effect.gen(function*() {
        const a = makeFencedWriter(redis, keys, { lockKey, token: "token-A" })
        return [
          yield* Effect.flip(a.append(5, encodeBatch([block(12)]))),
          yield* Effect.flip(a.reset(5)),
          yield* Effect.flip(a.count(5))
        ].map((e) => e.message)
      })
    )
    for (const m of stale) expect(m).toMatch(/FENCED/)
    expect(await t.redis.xlen(keys.stream(5))).toBe(1)
    expect(await t.redis.hget(keys.metrics, "blocks_total")).toBe("2")

    // an expired lock (nobody holds it) fences too
    await t.redis.del(lockKey)
    const expired = await withRedis((redis) => Effect.flip(makeFencedWriter(redis, keys, { lockKey, token: "token-B" }).append(5, encodeBatch([block(12)]))))
    expect(expired.message).toMatch(/FENCED/)

    // B resets (taking A's blocks back out of the metrics) and a committed epoch is reported, not reset
    await t.redis.set(lockKey, "token-B")
    await withRedis((redis) =>
      Effect.gen(function*() {
        const b = makeFencedWriter(redis, keys, { lockKey, token: "token-B" })
        expect(yield* b.reset(5)).toBe("reset")
        expect(yield* b.reset(4)).toBe("committed")
      })
    )
    expect(await t.redis.exists(keys.stream(5))).toBe(0)
    expect(await t.redis.hget(keys.metrics, "blocks_total")).toBe("0")
  })
})
