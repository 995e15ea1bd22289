/**
 * The consumer against hand-written producer keys (real Redis): both wire formats with integers
 * beyond 2^53, an epoch is never read before `last_synced_epoch` commits it, a half-acknowledged
 * batch resumes at the first unacknowledged block, and the two ways a group could silently miss
 * part of the chain fail instead (a relay with no seam over a history, a group created after the
 * relay trimmed entries).
 */
import { Redis } from "ioredis"
import { firstValueFrom, take, toArray } from "rxjs"
import { describe, expect, it } from "vitest"
import { type ChainItem, consume$, ConsumerError } from "../../src/consumer/index.js"
import type { Block } from "../../src/domain/block.js"
import { encodeBlocks, type WireFormat } from "../../src/domain/wire-format.js"
import { testBlock } from "../../src/testing/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix } from "../relay/harness.js"
import { CheckedFold, groupsOf, runConsumer, sleep, until, useTestRedis } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)

const HUGE = 18_446_744_073_709_551_617n // 2^64 + 1: a float would round it

/** A chain of `n` test blocks, each with a transaction whose fee is beyond 2^53. */
const chain = (n: number): Array<Block> => {
  const out: Array<Block> = []
  for (let h = 0; h < n; h++) {
    const b = testBlock(0, h, h === 0 ? "genesis" : out[h - 1]!.id)
    out.push({ ...b, transactions: [{ ...b.transactions[0]!, fee: HUGE + BigInt(h) }] })
  }
  return out
}

/** Writes epochs the way the backfill does: batch entries, then the commit keys. */
const writeEpochs = async (prefix: string, epochs: ReadonlyArray<ReadonlyArray<Block>>, format: WireFormat, batch = 3) => {
  for (const [e, blocks] of epochs.entries()) {
    for (let i = 0; i < blocks.length; i += batch) {
      await redis.xadd(`${prefix}epoch:${e}`, "*", "type", "batch", "epoch", String(e), "data", encodeBlocks(blocks.slice(i, i + batch), format))
    }
  }
}

const collect = (items: number, options: Parameters<typeof consume$>[0]): Promise<Array<ChainItem>> =>
  firstValueFrom(consume$(options).pipe(take(items), toArray()))

describe("consume$ and the producers' contract", () => {
  for (const format of ["hecate", "ogmios"] as const) {
    it(`reads the ${format} wire format, integers beyond 2^53 exact`, async () => {
      const prefix = newPrefix()
      prefixes.push(prefix)
      const blocks = chain(8)
      await writeEpochs(prefix, [blocks.slice(0, 5), blocks.slice(5)], format)
      await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, "1")
      const fold = new CheckedFold()
      const c = runConsumer({ redis, history: prefix, group: "g", consumer: "c", pollMs: 20 }, fold)
      await until("8 blocks", () => fold.chain.length === 8, c.failed)
      c.stop()
      expect(fold.chain.map((b) => b.hash)).toEqual(blocks.map((b) => b.id))
      expect(fold.chain.map((b) => b.slot)).toEqual(blocks.map((b) => b.slot))
      const items = await collect(8, { redis, history: prefix, group: "again", consumer: "c", pollMs: 20 })
      const fees = items.map((i) => ((i as { block: { transactions: Array<{ fee: unknown }> } }).block.transactions[0]!.fee))
      expect(fees).toEqual(blocks.map((_, h) => HUGE + BigInt(h)))
    })
  }

  it("never reads an epoch before last_synced_epoch commits it", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const blocks = chain(9)
    await writeEpochs(prefix, [blocks.slice(0, 3), blocks.slice(3, 6), blocks.slice(6)], "hecate")
    await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, "0")
    const fold = new CheckedFold()
    const c = runConsumer({ redis, history: prefix, group: "g", consumer: "c", pollMs: 20 }, fold)
    await until("epoch 0", () => fold.chain.length === 3, c.failed)
    await sleep(300)
    expect(fold.chain.length).toBe(3) // epochs 1 and 2 exist but are not committed
    await redis.set(`${prefix}last_synced_epoch`, "2")
    await until("epochs 1 and 2", () => fold.chain.length === 9, c.failed)
    c.stop()
    expect(fold.chain.map((b) => b.hash)).toEqual(blocks.map((b) => b.id))
  })

  it("a restart inside a half-acknowledged batch resumes at its first unacknowledged block", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const blocks = chain(10)
    await writeEpochs(prefix, [blocks], "hecate", 10) // one entry of 10 blocks
    await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, "0")
    const fold = new CheckedFold()
    const options = { redis, history: prefix, group: "g", consumer: "c", pollMs: 20, inFlight: 1 }
    const first = runConsumer(options, fold, { onItem: (_, n) => (n === 4 ? "stop" : "ack") })
    await until("4 blocks acknowledged", () => fold.chain.length === 4, first.failed)
    await sleep(100)
    const pending = (await redis.xpending(`${prefix}epoch:0`, "g")) as [number]
    expect(pending[0]).toBe(1) // the entry is not acknowledged while blocks of it are not
    expect(await redis.hget(`${prefix}consumer:g:progress`, `0:${(await redis.xrange(`${prefix}epoch:0`, "-", "+"))[0]![0]}`)).toBe("4")
    const second = runConsumer(options, fold)
    await until("all 10", () => fold.chain.length === 10, second.failed)
    second.stop()
    expect(fold.applies).toBe(10)
    expect(((await redis.xpending(`${prefix}epoch:0`, "g")) as [number])[0]).toBe(0)
  })

  it("acknowledgements stay a prefix of the sequence: after a failed one, none is attempted; ack() says which committed", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const blocks = chain(4)
    await redis.hset(`${relay}cursor`, { seq: "4", producer: "1", depth: "10", format: "hecate" })
    for (const [i, b] of blocks.entries()) {
      await redis.xadd(`${relay}events`, `${i + 1}-0`, "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", "{}")
    }
    const acks = new Redis(TEST_REDIS_URL)
    let calls = 0
    const xack = acks.xack.bind(acks)
    // the second acknowledgement fails (Redis went away for it); the third would succeed
    ;(acks as unknown as { xack: (...a: Array<unknown>) => Promise<number> }).xack = (...a: Array<unknown>) =>
      ++calls === 2 ? Promise.reject(new Error("connection lost")) : (xack as (...b: Array<unknown>) => Promise<number>)(...a)
    try {
      const items = await collect(4, { redis: acks, relay, group: "g", consumer: "c", pollMs: 20, inFlight: 4 }).catch(() => [] as Array<ChainItem>)
      expect(items).toHaveLength(4)
      const results = await Promise.all(items.map((i) => i.ack()))
      expect(results).toEqual([true, false, false, false])
      expect(calls).toBe(2)
      const pending = (await redis.xpending(`${relay}events`, "g", "-", "+", 10)) as Array<[string]>
      expect(pending.map((p) => p[0])).toEqual(["2-0", "3-0", "4-0"])
    } finally {
      acks.disconnect()
    }
  })

  it("a session started right after another one acked and stopped is not handed the acked items again", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const blocks = chain(6)
    await redis.hset(`${relay}cursor`, { seq: "6", producer: "1", depth: "10", format: "hecate" })
    for (const [i, b] of blocks.entries()) {
      await redis.xadd(`${relay}events`, `${i + 1}-0`, "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", "{}")
    }
    const acks = new Redis(TEST_REDIS_URL)
    const xack = acks.xack.bind(acks) as (...a: Array<unknown>) => Promise<number>
    // acknowledgements take a while to reach Redis (a busy connection)
    ;(acks as unknown as { xack: (...a: Array<unknown>) => Promise<number> }).xack = (...a: Array<unknown>) => sleep(150).then(() => xack(...a))
    try {
      const options = { redis: acks, relay, group: "g", consumer: "c", pollMs: 20, inFlight: 3 }
      const first = await collect(3, options)
      for (const item of first) void item.ack() // the session stops without waiting for its acks
      const second = await collect(3, options)
      expect(second.map((i) => i.id)).toEqual([4, 5, 6].map((n) => `${relay}events/${n}-0`))
    } finally {
      acks.disconnect()
    }
  })

  it("a relay cursor with no seam over a published history is refused (SeamMismatch)", async () => {
    const history = newPrefix()
    const relay = newPrefix()
    prefixes.push(history, relay)
    await writeEpochs(history, [chain(3)], "hecate")
    await redis.mset(`${history}low_watermark`, "0", `${history}last_synced_epoch`, "0")
    await redis.hset(`${relay}cursor`, { seq: "1", producer: "1", depth: "10", format: "hecate" })
    const error = await collect(1, { redis, history, relay, group: "g", consumer: "c", pollMs: 20 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConsumerError)
    expect((error as ConsumerError).reason).toBe("SeamMismatch")
  })

  it("a group created after the relay trimmed its first writes fails (Gap) instead of starting late", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const blocks = chain(5)
    for (const [i, b] of blocks.entries()) {
      await redis.xadd(`${relay}events`, `${i + 1}-0`, "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", "{}")
    }
    await redis.xtrim(`${relay}events`, "MINID", "5-0") // the relay's retention trimmed writes 1..4
    const error = await collect(1, { redis, relay, group: "late", consumer: "c", pollMs: 20 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConsumerError)
    expect((error as ConsumerError).reason).toBe("Gap")
    // it leaves no group behind to hold back the relay
    expect(await groupsOf(redis, `${relay}events`)).toEqual([])
    expect(await groupsOf(redis, `${relay}final`)).toEqual([])
  })

  it("a relay whose first write held no event (it only moved its start point back) is no Gap", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const b = chain(1)[0]!
    await redis.xadd(`${relay}events`, "2-0", "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", "{}")
    const items = await collect(1, { redis, relay, group: "first", consumer: "c", pollMs: 20 })
    expect(items.map((i) => i._tag)).toEqual(["Apply"])
  })

  it("demand: a handler that does not ack gets inFlight items, Redis hands out one read's worth, each ack lets one more through", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const blocks = chain(50)
    for (const [i, b] of blocks.entries()) {
      await redis.xadd(`${relay}events`, `${i + 1}-0`, "type", "apply", "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", "{}")
    }
    const held: Array<ChainItem> = []
    const sub = consume$({ redis, relay, group: "slow", consumer: "c", pollMs: 20, inFlight: 3, eventsCount: 5 }).subscribe((item) => held.push(item))
    try {
      await until("3 items", () => held.length === 3)
      await sleep(300)
      expect(held.length).toBe(3)
      const pending = (await redis.xpending(`${relay}events`, "slow")) as [number]
      expect(pending[0]).toBeLessThanOrEqual(5)
      expect(((await redis.xpending(`${relay}events`, "slow")) as [number])[0]).toBeGreaterThanOrEqual(3)
      held[0]!.ack()
      await until("a 4th item", () => held.length === 4)
      await sleep(200)
      expect(held.length).toBe(4)
      expect(held.map((i) => i.point.height)).toEqual([0, 1, 2, 3])
    } finally {
      sub.unsubscribe()
    }
  })

  it("a restart with only a final left unacknowledged hands it out at once, not at the next relay write", async () => {
    const relay = newPrefix()
    prefixes.push(relay)
    const [b0, b1] = chain(2)
    const fields = (type: string, b: Block) => ["type", type, "slot", String(b.slot), "height", String(b.height), "hash", b.id, "era", "conway", "block", JSON.stringify({ ancestor: b.ancestor })]
    await redis.xadd(`${relay}events`, "1-0", ...fields("apply", b0!))
    await redis.xadd(`${relay}events`, "2-0", ...fields("apply", b1!))
    await redis.xadd(`${relay}final`, "2-0", ...fields("final", b0!))
    const fold = new CheckedFold()
    const options = { redis, relay, group: "g", consumer: "c", pollMs: 20 }
    const first = runConsumer(options, fold, { onItem: (item) => (item._tag === "Final" ? "stop" : "ack") })
    await until("the first session to stop at the final", () => first.ended(), first.failed)
    expect(fold.applies).toBe(2)
    const second = runConsumer(options, fold)
    await until("the final", () => fold.finals === 1, second.failed, 2_000)
    second.stop()
    expect(fold.finalCount).toBe(1)
  })

  it("a prefix given without its trailing colon while a producer's keys exist under it: the waiting notice says so and names the prefix to give", async () => {
    const base = newPrefix()
    prefixes.push(base)
    const prefix = base.slice(0, -1) // "…:" without its colon
    await writeEpochs(base, [chain(3)], "hecate")
    await redis.mset(`${base}low_watermark`, "0", `${base}last_synced_epoch`, "0")
    const notices: Array<string> = []
    const c = runConsumer({ redis, history: prefix, group: "g", consumer: "c", pollMs: 20, log: (level, message) => notices.push(`${level} ${message}`) })
    await until("the notice", () => notices.length > 0, c.failed)
    c.stop()
    expect(notices[0]).toContain(`warn nothing at ${prefix} yet`)
    expect(notices[0]).toContain(`keys exist under ${base}: give that prefix (--history-prefix ${base}, option history)`)
    expect(c.items()).toBe(0)
  })
})
