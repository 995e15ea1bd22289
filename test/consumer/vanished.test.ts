/**
 * Streams and groups that vanish under a reading consumer (real Redis, hand-written producer
 * keys): an epoch stream the producer's cleanup deleted once the group had read it all is done,
 * not an error; a group destroyed on a stream being read fails with `GroupLost`, never with a
 * raw Redis reply.
 */
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { type ChainItem, consume$, ConsumerError } from "../../src/consumer/index.js"
import type { Block } from "../../src/domain/block.js"
import { encodeBlocks } from "../../src/domain/wire-format.js"
import { testBlock } from "../../src/testing/index.js"
import { newPrefix } from "../relay/harness.js"
import { CheckedFold, runConsumer, sleep, until, useTestRedis } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)

const chain = (n: number): Array<Block> => {
  const out: Array<Block> = []
  for (let h = 0; h < n; h++) out.push(testBlock(0, h, h === 0 ? "genesis" : out[h - 1]!.id))
  return out
}

describe("a stream or group vanishing under a reading consumer", () => {
  it("an epoch stream deleted by the cleanup while the consumer waits on another consumer's pending entry is done", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const blocks = chain(9)
    const key0 = `${prefix}epoch:0`
    const first = await redis.xadd(key0, "*", "type", "batch", "epoch", "0", "data", encodeBlocks(blocks.slice(0, 3), "hecate"))
    await redis.xadd(key0, "*", "type", "batch", "epoch", "0", "data", encodeBlocks(blocks.slice(3, 6), "hecate"))
    await redis.xadd(`${prefix}epoch:1`, "*", "type", "batch", "epoch", "1", "data", encodeBlocks(blocks.slice(6), "hecate"))
    await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, "0")
    await redis.sadd(`${prefix}consumer_groups`, "g")
    await redis.xgroup("CREATE", key0, "g", "0")
    // another consumer of the group holds the first entry
    await redis.xreadgroup("GROUP", "g", "other", "COUNT", 1, "STREAMS", key0, ">")
    const fold = new CheckedFold()
    const c = runConsumer({ redis, history: prefix, group: "g", consumer: "c", pollMs: 20, claimIdleMs: 60_000 }, fold)
    await until("the second entry", () => fold.chain.length === 3, c.failed)
    await sleep(100) // c now looks at the other consumer's pending entry on every step
    // the other consumer acknowledges it, and the cleanup reclaims the finished epoch
    await redis.xack(key0, "g", first!)
    await redis.del(key0)
    await sleep(100)
    await redis.set(`${prefix}last_synced_epoch`, "1")
    await until("epoch 1", () => fold.chain.length === 6, c.failed)
    c.stop()
    expect(fold.chain.map((b) => b.hash)).toEqual(blocks.slice(3).map((b) => b.id))
  })

  it("a group destroyed on the stream it reads fails with GroupLost, naming the group, the key and what to do", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const blocks = chain(3)
    for (const [i, b] of blocks.entries()) {
      await redis.xadd(`${relay}events`, `${i + 1}-0`, "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", JSON.stringify({ ancestor: b.ancestor }))
    }
    const fold = new CheckedFold()
    const c = runConsumer({ redis, relay, group: "g", consumer: "c", pollMs: 50 }, fold)
    await until("3 items", () => fold.chain.length === 3, c.failed)
    await sleep(100)
    await redis.xgroup("DESTROY", `${relay}events`, "g")
    const error = await c.failed.then(() => undefined, (e: unknown) => e)
    c.stop()
    expect(error).toBeInstanceOf(ConsumerError)
    expect((error as ConsumerError).reason).toBe("GroupLost")
    expect((error as ConsumerError).message).toContain(`group g is gone from ${relay}events`)
    expect((error as ConsumerError).message).toContain("--unregister")
  })

  it("a group destroyed on the epoch stream it reads fails with GroupLost once its items are acknowledged", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const blocks = chain(9)
    for (let i = 0; i < 9; i += 3) {
      await redis.xadd(`${prefix}epoch:0`, "*", "type", "batch", "epoch", "0", "data", encodeBlocks(blocks.slice(i, i + 3), "hecate"))
    }
    await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, "0")
    const held: Array<ChainItem> = []
    let failure: unknown
    const sub = consume$({ redis, history: prefix, group: "g", consumer: "c", pollMs: 20, inFlight: 3 }).subscribe({
      next: (item) => held.push(item),
      error: (e: unknown) => (failure = e)
    })
    try {
      await until("3 items held", () => held.length === 3)
      await redis.xgroup("DESTROY", `${prefix}epoch:0`, "g")
      for (const item of held) await item.ack()
      await until("the failure", () => failure !== undefined)
    } finally {
      sub.unsubscribe()
    }
    expect(failure).toBeInstanceOf(ConsumerError)
    expect((failure as ConsumerError).reason).toBe("GroupLost")
    expect((failure as ConsumerError).message).toContain(`group g is gone from ${prefix}epoch:0`)
    expect((failure as ConsumerError).exitCode).toBe(1)
  })
})
