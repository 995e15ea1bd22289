/**
 * RelayStore against the property-testing kit, on a real Redis: the consumer under test is the
 * reorg operator + one atomic RelayStore write per input, and what it reports back is read from
 * Redis (the new `events` / `final` entries, decoded), so the kit's invariants (fold = canonical
 * chain, undo mirrors apply byte for byte, final is a prefix at exactly `depth` and names its
 * apply entry, which retention kept, no duplicates)
 * are checked on the stored streams. Restarts rebuild the consumer from Redis alone (claim →
 * resume window → a new producer). Every write is also re-sent (a retry after a lost reply) and
 * must be a no-op, and a write of the old producer after a restart must be fenced.
 */
import { randomBytes } from "node:crypto"
import { Effect, Exit, Redacted, Result, Scope } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ReorgEvent } from "../../src/domain/reorg-event.js"
import { makeConnection } from "../../src/layers/RedisLive.js"
import { makeRelayStore, type RelayStoreShape } from "../../src/relay/RelayStore.js"
import { batchOps } from "../../src/relay/ops.js"
import { relayStart } from "../../src/relay/relay.js"
import { initialState, type ReorgState, stepBatch } from "../../src/streams/reorg.js"
import { type ConsumerFactory, checkConsumer, propertyRuns } from "../../src/testing/index.js"
import type { RedisConnection } from "../../src/services/Redis.js"
import { TEST_REDIS_URL, deleteByPrefix } from "../backfill/redis-helpers.js"
import { blockOf, decodeEntry, readEntries, type RelayEntry } from "./support.js"

let client: IORedis
let conn: RedisConnection
const prefixes: Array<string> = []

const scope = Effect.runSync(Scope.make())

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  conn = await Effect.runPromise(
    makeConnection({ url: Redacted.make(TEST_REDIS_URL), connectionName: "hecate-test-relay" }).pipe(Scope.provide(scope))
  )
})

afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(client, p)
  client.disconnect()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** The relay as a kit consumer: reorg step + RelayStore write; reports what Redis now holds. */
const relayConsumer = (prefix: string, counters: { dups: number; fenced: number }): ConsumerFactory =>
  async ({ depth, resume }) => {
    const store: RelayStoreShape = makeRelayStore(conn, { prefix, retain: 3 })
    let cursor = resume === undefined
      ? await run(store.init({ start: "origin", height: null, depth, format: "ogmios" }))
      : await run(store.claim())
    if (cursor === undefined) throw new Error("no cursor after a restart")
    const previousProducer = cursor.producer - 1
    const start = relayStart(cursor)
    let state: ReorgState = initialState({ depth, resume: start.resume })
    let seq = cursor.seq
    const lastId = async (key: string) => ((await client.xrevrange(key, "+", "-", "COUNT", 1))[0]?.[0]) ?? "-"
    let lastEvent = await lastId(`${prefix}events`)
    let lastFinal = await lastId(`${prefix}final`)
    let fencedChecked = resume === undefined
    return {
      push: async (event) => {
        // the relay sink's own op-building, from the operator's batch (points included)
        const r = stepBatch(state, event)
        if (Result.isFailure(r)) throw r.failure
        state = r.success.state
        const out: ReadonlyArray<ReorgEvent> = r.success.batch.events
        if (out.length === 0) return []
        const { ops, tip } = batchOps(r.success.batch, "ogmios")
        seq++
        if (!fencedChecked) {
          // the producer that was running before the restart is fenced off
          const stale = await run(Effect.result(store.write(seq, previousProducer, ops, tip)))
          if (!(Result.isFailure(stale) && stale.failure._tag === "RelayFenced")) throw new Error("a stale producer's write was not fenced")
          counters.fenced++
          fencedChecked = true
        }
        const written = await run(store.write(seq, cursor!.producer, ops, tip))
        if (written._tag !== "Written") throw new Error(`write ${seq} was ${written._tag}`)
        const again = await run(store.write(seq, cursor!.producer, ops, tip))
        if (again._tag !== "Duplicate") throw new Error(`retried write ${seq} was ${again._tag}`)
        counters.dups++
        const events = await readEntries(client, `${prefix}events`, lastEvent)
        const finals = await readEntries(client, `${prefix}final`, lastFinal)
        if (events.length > 0) lastEvent = events.at(-1)!.id
        if (finals.length > 0) lastFinal = finals.at(-1)!.id
        // Redis holds exactly this batch: same kinds, same order, same blocks
        const stored: Array<ReorgEvent> = [
          ...events.map((e): ReorgEvent => e.type === "apply"
            ? { _tag: "Apply", block: blockOf(e), tip: tip ?? "origin" }
            : { _tag: "Undo", block: blockOf(e) }),
          ...(await Promise.all(finals.map(async (e): Promise<ReorgEvent> => ({ _tag: "Final", block: await finalBlock(prefix, e) }))))
        ]
        const expectedKinds = [...out.filter((e) => e._tag !== "Final"), ...out.filter((e) => e._tag === "Final")]
        expect(stored.map((e) => `${e._tag}:${e.block.id}`)).toEqual(expectedKinds.map((e) => `${e._tag}:${e.block.id}`))
        for (const e of events) expect(e.id.startsWith(`${seq}-`)).toBe(true)
        return orderLike(out, stored)
      },
      persist: () => ({ restart: true })
    }
  }

/**
 * The block of a final entry: it holds none, only the id of its apply entry in `events` (`ref`),
 * which must still be there (retention keeps what a held final refers to) with the same point.
 */
const finalBlock = async (prefix: string, entry: RelayEntry) => {
  expect(entry.blockText, `final ${entry.id} holds no block`).toBeUndefined()
  const found = (await client.xrange(`${prefix}events`, entry.ref ?? "0-0", entry.ref ?? "0-0")) as Array<[string, Array<string>]>
  if (found[0] === undefined) throw new Error(`final ${entry.id} refers to ${entry.ref}, which is not in events`)
  const apply = decodeEntry(found[0])
  expect([apply.type, apply.slot, apply.height, apply.hash, apply.era]).toEqual(["apply", entry.slot, entry.height, entry.hash, entry.era])
  return blockOf(apply)
}

/** Returns the stored events in the operator's batch order (finals live in their own stream). */
const orderLike = (out: ReadonlyArray<ReorgEvent>, stored: ReadonlyArray<ReorgEvent>): Array<ReorgEvent> =>
  out.map((o) => {
    const s = stored.find((x) => x._tag === o._tag && x.block.id === o.block.id)
    if (s === undefined) throw new Error(`${o._tag} of ${o.block.id} is not in Redis`)
    return s
  })

describe("RelayStore (kit property, real Redis)", () => {
  it("stored events fold to the canonical chain across restarts; retries never duplicate; stale producers are fenced", async () => {
    const counters = { dups: 0, fenced: 0 }
    const report = await checkConsumer(
      ({ depth, resume }) => {
        // one prefix per history: the first session of a history has no resume
        if (resume === undefined) prefixes.push(`hecate-test:${randomBytes(6).toString("hex")}:`)
        return relayConsumer(prefixes.at(-1)!, counters)({ depth, resume })
      },
      { depth: 6, k: 6, maxLength: 60, numRuns: propertyRuns(60), seed: 4242, restarts: true }
    )
    expect(report.numRuns).toBeGreaterThan(0)
    expect(counters.dups).toBeGreaterThan(100)
    expect(counters.fenced).toBeGreaterThan(5)
  }, 120_000)
})
