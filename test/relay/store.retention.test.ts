/**
 * The relay's retention on a real Redis (a private server with one entry per stream node, so that
 * `XTRIM MINID ~` trims exactly): beyond `retain`, `events` keeps what a consumer group was
 * delivered but has not acknowledged, and every apply entry a held `final` entry refers to.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeConnection } from "../../src/layers/RedisLive.js"
import { makeRelayStore, type RelayOp, type RelayStoreShape } from "../../src/relay/RelayStore.js"
import { type PrivateRedis, startPrivateRedis } from "./private-redis.js"

let own: PrivateRedis
const scope = Effect.runSync(Scope.make())
let store: RelayStoreShape
const prefix = "hecate-test:retention:"
const DEPTH = 3

beforeAll(async () => {
  own = await startPrivateRedis()
  await own.client.config("SET", "stream-node-max-entries", "1")
  const conn = await Effect.runPromise(makeConnection({ url: Redacted.make(own.url), connectionName: "hecate-test-retention" }).pipe(Scope.provide(scope)))
  store = makeRelayStore(conn, { prefix, retain: 1 })
}, 30_000)
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await own?.stop()
})

const hash = (h: number) => h.toString(16).padStart(64, "0")
let seq = 0
let producer = 0
/** One write per block: apply height h, and the block DEPTH below it becomes final. */
const extend = async (h: number) => {
  const ops: Array<RelayOp> = [{ _tag: "A", slot: h, height: h, hash: hash(h), era: "conway", block: JSON.stringify({ id: hash(h), height: h, pad: "x".repeat(100) }) }]
  if (h - DEPTH >= 1) ops.push({ _tag: "F", hash: hash(h - DEPTH) })
  seq++
  const r = await Effect.runPromise(store.write(seq, producer, ops, { slot: h, id: hash(h), height: h }))
  expect(r._tag).toBe("Written")
}
const ids = async (key: string) => ((await own.client.xrange(`${prefix}${key}`, "-", "+")) as Array<[string, Array<string>]>).map(([id]) => id)

describe("relay retention", () => {
  it("keeps the events a group has not acknowledged and the applies the held finals refer to; trims once acknowledged", async () => {
    const cursor = await Effect.runPromise(store.init({ start: "origin", height: null, depth: DEPTH, format: "ogmios" }))
    producer = cursor.producer
    await own.client.xgroup("CREATE", `${prefix}events`, "g", "0", "MKSTREAM")
    for (let h = 1; h <= 5; h++) await extend(h)
    // the group is delivered writes 1..5 and acknowledges none of them
    await own.client.xreadgroup("GROUP", "g", "c", "COUNT", 100, "STREAMS", `${prefix}events`, ">")
    for (let h = 6; h <= 12; h++) await extend(h)
    const held = await ids("events")
    expect(held[0], "the oldest unacknowledged event is kept").toBe("1-0")

    // the group acknowledges everything and reads the rest: only retention and the finals bound the trim
    await own.client.xack(`${prefix}events`, "g", ...held)
    await own.client.xreadgroup("GROUP", "g", "c", "COUNT", 100, "STREAMS", `${prefix}events`, ">")
    await own.client.xack(`${prefix}events`, "g", ...(await ids("events")))
    await extend(13)
    const events = await ids("events")
    const finals = (await own.client.xrange(`${prefix}final`, "-", "+")) as Array<[string, Array<string>]>
    expect(events[0], "acknowledged events are trimmed").not.toBe("1-0")
    // `retain 1` keeps one write of final; its entry names an apply DEPTH writes older, kept
    expect(finals.length).toBeGreaterThan(0)
    const ref = finals[0]![1][finals[0]![1].indexOf("ref") + 1]!
    expect(finals[0]![1]).not.toContain("block")
    expect(events[0]).toBe(ref)
    expect(ref).toBe(`${13 - DEPTH}-0`)
  }, 60_000)
})
