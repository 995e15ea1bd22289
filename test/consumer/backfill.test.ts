/**
 * The consumer over a backfill only (built CLI `hecate backfill` on the simulator's small chain):
 * one consumer's checked fold is every block of the published epochs in order; several consumers
 * of one group share the epochs without a duplicate, and what a consumer that died holding items
 * left pending is claimed by the others after the idle time; a group registered before the
 * producer ran is created on every epoch stream, so the producer's cleanup keeps what it has not read.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import { makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { makeConnection } from "../../src/layers/RedisLive.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChainItem, consume$, registerGroup } from "../../src/consumer/index.js"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import { type E2e, e2e, output } from "../support/backfill-e2e.js"
import { canonical, CheckedFold, groupsOf, runConsumer, sleep, until } from "./support.js"

let t: E2e
let sim: SimulatorHandle
let redis: Redis
let lastHeight: number
let lastSynced: number

beforeAll(async () => {
  t = await e2e()
  redis = t.redis
  sim = await t.sim()
  // a group registered before the producer starts (the documented start-up order)
  await registerGroup({ redis, history: t.prefix, group: "late-reader" })
  const run = await t.backfill(["--endpoint", sim.url, "--concurrency", "2", "--batch-size", "7"])
  expect(run.code, output(run)).toBe(0)
  lastSynced = Number(await redis.get(`${t.prefix}last_synced_epoch`))
  lastHeight = sim.chain.epochInfo(lastSynced)!.lastHeight
}, 120_000)

afterAll(async () => {
  await t?.cleanup()
})

const expectedHistory = () => canonical(sim).slice(0, lastHeight + 1)

describe("consume$ over a backfill", () => {
  it("one consumer folds every published block once, in order, and leaves every epoch fully consumed", async () => {
    expect(lastSynced).toBeGreaterThanOrEqual(3)
    const c = runConsumer({ redis, history: t.prefix, group: "table", consumer: "c1", pollMs: 50, inFlight: 3, historyCount: 2 })
    await until("every published block", () => c.fold.chain.length >= lastHeight + 1, c.failed)
    await sleep(300) // nothing more arrives
    c.stop()
    expect(c.fold.keys()).toEqual(expectedHistory())
    expect(c.fold.finalCount).toBe(c.fold.chain.length)
    for (let e = 0; e <= lastSynced; e++) {
      const key = `${t.prefix}epoch:${e}`
      const info = (await redis.xinfo("STREAM", key)) as Array<unknown>
      const lastId = info[info.indexOf("last-generated-id") + 1]
      const group = (await groupsOf(redis, key)).find((g) => g["name"] === "table")
      expect(group?.["pending"]).toBe(0)
      expect(group?.["last-delivered-id"]).toBe(lastId)
      // the group registered before the backfill was created on every epoch, and has read nothing
      const late = (await groupsOf(redis, key)).find((g) => g["name"] === "late-reader")
      expect(late?.["last-delivered-id"]).toBe("0-0")
    }
    // no half-acknowledged batch is left behind
    expect(await redis.exists(`${t.prefix}consumer:table:progress`)).toBe(0)
  })

  it("consumers of one group share the work without duplicates; a dead consumer's items are claimed", async () => {
    const got = new Map<string, Array<ChainItem>>()
    const subs = []
    // "dead" takes 3 items and dies without acking them
    let held = 0
    const dead = consume$({ redis, history: t.prefix, group: "shared", consumer: "dead", pollMs: 50, inFlight: 3 }).subscribe((item) => {
      held++
      void item
    })
    await until("the dead consumer's items", () => held === 3)
    dead.unsubscribe()
    for (const name of ["a", "b", "c"]) {
      const items: Array<ChainItem> = []
      got.set(name, items)
      subs.push(consume$({ redis, history: t.prefix, group: "shared", consumer: name, pollMs: 50, inFlight: 2, claimIdleMs: 500 }).subscribe((item) => {
        items.push(item)
        // a little work per item, so the consumers overlap
        setTimeout(() => item.ack(), 1)
      }))
    }
    const total = () => [...got.values()].reduce((n, items) => n + items.length, 0)
    await until("every block handed out", () => total() >= lastHeight + 1, undefined, 60_000)
    await sleep(800) // longer than the idle time: a duplicate would show up now
    for (const s of subs) s.unsubscribe()
    const all = [...got.values()].flat()
    const heights = all.map((i) => i.point.height).sort((a, b) => a - b)
    expect(heights).toEqual(Array.from({ length: lastHeight + 1 }, (_, h) => h))
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length)
    for (const [name, items] of got) expect(items.length, `consumer ${name}`).toBeGreaterThan(0)
    // the blocks "dead" held were delivered again, to one of the others
    for (const e of [0]) {
      const group = (await groupsOf(redis, `${t.prefix}epoch:${e}`)).find((g) => g["name"] === "shared")
      expect(group?.["pending"]).toBe(0)
    }
  })

  it("the producer's cleanup keeps every epoch a registered group has not read, and reclaims them once it has", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const conn = await Effect.runPromise(makeConnection({ url: Redacted.make(TEST_REDIS_URL) }).pipe(Scope.provide(scope)))
      const store = makeEpochStore(conn, { prefix: t.prefix })
      // "table" and "shared" have read everything, "late-reader" (registered before the backfill) nothing
      await Effect.runPromise(store.cleanupPass())
      expect(await redis.get(`${t.prefix}low_watermark`)).toBe("0")
      expect(await redis.exists(`${t.prefix}epoch:0`)).toBe(1)
      const late = runConsumer({ redis, history: t.prefix, group: "late-reader", consumer: "l1", pollMs: 50 })
      await until("every block for the late reader", () => late.fold.chain.length >= lastHeight + 1, late.failed)
      late.stop()
      expect(late.fold.keys()).toEqual(expectedHistory())
      await Effect.runPromise(store.cleanupPass())
      // every group is done: everything below the last synced epoch is reclaimed (that one is always kept)
      expect(await redis.get(`${t.prefix}low_watermark`)).toBe(String(lastSynced))
      for (let e = 0; e < lastSynced; e++) expect(await redis.exists(`${t.prefix}epoch:${e}`)).toBe(0)
      // a restarted consumer of a finished group starts at the new watermark and gets nothing again
      const again = runConsumer({ redis, history: t.prefix, group: "table", consumer: "c1", pollMs: 50 })
      await sleep(500)
      again.stop()
      expect(again.items()).toBe(0)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
