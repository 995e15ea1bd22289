/**
 * The in-memory RelayStore against the Redis one: the same writes (the reorg operator over the
 * testing kit's histories, with forks, restarts, retried writes and stale producers) go to both,
 * and after every step both hold the same cursor, window, checkpoints and `events` / `final`
 * entries, ids and fields byte for byte, and answer the same (Written / Duplicate / RelayFenced).
 * So a pipeline unit-tested over the memory layer behaves as it will over Redis. And the whole
 * relay pipeline (chainSync$ → reorg → relay sink) runs over the memory layer, no Redis at all.
 */
import { randomBytes } from "node:crypto"
import { Effect, Exit, Fiber, Layer, Redacted, Result, Scope } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Block } from "../../src/domain/block.js"
import type { ReorgEvent } from "../../src/domain/reorg-event.js"
import { parse } from "../../src/json/lossless.js"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { makeConnection } from "../../src/layers/RedisLive.js"
import { makeMemoryRelayStore, type MemoryRelayState, type MemoryRelayStore } from "../../src/relay/MemoryRelayStore.js"
import { relay, relayStart } from "../../src/relay/relay.js"
import { makeRelayStore, RelayStore, type RelayStoreShape } from "../../src/relay/RelayStore.js"
import { batchOps } from "../../src/relay/ops.js"
import type { RedisConnection } from "../../src/services/Redis.js"
import { startSimulator } from "../../src/simulator/index.js"
import { initialState, type ReorgState, stepBatch } from "../../src/streams/reorg.js"
import { checkConsumer, propertyRuns } from "../../src/testing/index.js"
import { TEST_REDIS_URL, deleteByPrefix } from "../backfill/redis-helpers.js"
import { sleep } from "./harness.js"
import { startPrivateRedis } from "./private-redis.js"

const compareEntryIds = (a: string, b: string): number => {
  const [as, ai] = a.split("-").map(Number)
  const [bs, bi] = b.split("-").map(Number)
  return as! - bs! || ai! - bi!
}

let client: IORedis
let conn: RedisConnection
const prefixes: Array<string> = []
const scope = Effect.runSync(Scope.make())

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  conn = await Effect.runPromise(makeConnection({ url: Redacted.make(TEST_REDIS_URL), connectionName: "hecate-test-contract" }).pipe(Scope.provide(scope)))
})
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(client, p)
  client.disconnect()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<Result.Result<A, E>> => Effect.runPromise(Effect.result(effect))

const TIMESTAMPS = new Set(["created_ms", "updated_ms"])
const withoutTimestamps = (fields: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(fields).filter(([k]) => !TIMESTAMPS.has(k)))

/** What Redis holds under `prefix`, in the memory store's shape. */
const redisState = async (client: IORedis, prefix: string): Promise<Omit<MemoryRelayState, "metrics" | "status">> => {
  const entries = async (key: string) => ((await client.xrange(key, "-", "+")) as Array<[string, Array<string>]>).map(([id, f]) => [id, f] as const)
  // flat (RESP2) or as [member, score] pairs (RESP3)
  const zs = ((await client.call("ZRANGE", `${prefix}checkpoints`, "0", "-1", "WITHSCORES")) as Array<unknown>).flat() as Array<string>
  const checkpoints: Array<readonly [string, number]> = []
  for (let i = 0; i < zs.length; i += 2) checkpoints.push([zs[i]!, Number(zs[i + 1])])
  return {
    cursor: await client.hgetall(`${prefix}cursor`),
    window: await client.lrange(`${prefix}window`, 0, -1),
    events: await entries(`${prefix}events`),
    final: await entries(`${prefix}final`),
    checkpoints
  }
}

const expectSameState = async (client: IORedis, prefix: string, memory: MemoryRelayStore, what: string) => {
  const r = await redisState(client, prefix)
  const m = memory.state()
  expect(withoutTimestamps(m.cursor), `${what}: cursor`).toEqual(withoutTimestamps(r.cursor))
  expect(m.window, `${what}: window`).toEqual(r.window)
  expect(m.events, `${what}: events`).toEqual(r.events)
  expect(m.final, `${what}: final`).toEqual(r.final)
  expect([...m.checkpoints].sort(), `${what}: checkpoints`).toEqual([...r.checkpoints].sort())
}

/**
 * The kit's histories through both stores (`retain` writes kept), comparing after every write.
 * Returns how many states were compared.
 */
const compareStores = async (client: IORedis, conn: RedisConnection, retain: number): Promise<number> => {
    const memories = new Map<string, MemoryRelayStore>()
    let compared = 0
    await checkConsumer(
      async ({ depth, resume }) => {
        if (resume === undefined) {
          const p = `hecate-test:${randomBytes(6).toString("hex")}:`
          prefixes.push(p)
          memories.set(p, makeMemoryRelayStore({ prefix: p, retain }))
        }
        const prefix = prefixes.at(-1)!
        const memory = memories.get(prefix)!
        const redis: RelayStoreShape = makeRelayStore(conn, { prefix, retain })
        const both = async <A>(f: (s: RelayStoreShape) => Effect.Effect<A, unknown>, what: string) => {
          const [a, b] = [await run(f(redis)), await run(f(memory))]
          expect(Result.isSuccess(b), `${what}: memory ${Result.isSuccess(b) ? "succeeded" : "failed"} like Redis`).toBe(Result.isSuccess(a))
          if (Result.isFailure(a) && Result.isFailure(b)) expect((b.failure as { _tag: string })._tag).toBe((a.failure as { _tag: string })._tag)
          if (Result.isSuccess(a) && Result.isSuccess(b)) return [a.success, b.success] as const
          if (Result.isFailure(a)) return undefined
          throw new Error(`${what}: Redis failed but memory did not`)
        }
        const opened = resume === undefined
          ? await both((s) => s.init({ start: "origin", height: null, depth, format: "ogmios" }), "init")
          : await both((s) => s.claim(), "claim")
        const cursor = opened?.[0]
        if (cursor === undefined) throw new Error("no cursor")
        await expectSameState(client, prefix, memory, "opened")
        let state: ReorgState = initialState({ depth, resume: relayStart(cursor).resume })
        let seq = cursor.seq
        let staleChecked = resume === undefined
        // the last entry already reported, by id (trimming removes entries from the front)
        let seenEvents = memory.state().events.at(-1)?.[0] ?? "0-0"
        let seenFinal = memory.state().final.at(-1)?.[0] ?? "0-0"
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
            if (!staleChecked) {
              await both((s) => s.write(seq, cursor.producer - 1, ops, tip), "stale producer") // both fenced
              staleChecked = true
            }
            const written = await both((s) => s.write(seq, cursor.producer, ops, tip), `write ${seq}`)
            expect(written?.map((w) => w._tag)).toEqual(["Written", "Written"])
            const again = await both((s) => s.write(seq, cursor.producer, ops, tip), `retry ${seq}`)
            expect(again?.map((w) => w._tag)).toEqual(["Duplicate", "Duplicate"])
            await expectSameState(client, prefix, memory, `after write ${seq}`)
            compared++
            // report what the store holds (a resumed window's blocks carry header fields only)
            const now = memory.state()
            // a final entry holds no block: the apply entry it names (`ref`) does
            const blockText = (f: ReadonlyArray<string>) => {
              if (f[1] !== "final") return f[f.indexOf("block") + 1]!
              const ref = f[f.indexOf("ref") + 1]
              const apply = now.events.find(([id]) => id === ref)
              if (apply === undefined) throw new Error(`final of ${f[f.indexOf("hash") + 1]} refers to ${ref}, not in events`)
              return apply[1][apply[1].indexOf("block") + 1]!
            }
            const after = (entries: ReadonlyArray<readonly [string, ReadonlyArray<string>]>, last: string) =>
              entries.filter(([id]) => compareEntryIds(id, last) > 0)
            const stored = [...after(now.events, seenEvents), ...after(now.final, seenFinal)].map(([, f]) => ({
              kind: f[1] === "apply" ? "Apply" : f[1] === "undo" ? "Undo" : "Final",
              block: parse(blockText(f)) as Block
            }))
            seenEvents = now.events.at(-1)?.[0] ?? seenEvents
            seenFinal = now.final.at(-1)?.[0] ?? seenFinal
            return out.map((o): ReorgEvent => {
              const hit = stored.find((x) => x.kind === o._tag && x.block.id === o.block.id)
              if (hit === undefined) throw new Error(`${o._tag} of ${o.block.id} is not in the store`)
              return { ...o, block: hit.block } as ReorgEvent
            })
          },
          persist: () => ({ restart: true })
        }
      },
      { depth: 6, k: 6, maxLength: 50, numRuns: propertyRuns(40), seed: 77, restarts: true }
    )
    return compared
}


describe("RelayStore on Redis: a cursor Redis lost", () => {
  it("a write whose cursor is gone names the key, one that went back names the older producer", async () => {
    const prefix = `hecate-test:${randomBytes(6).toString("hex")}:`
    prefixes.push(prefix)
    const store = makeRelayStore(conn, { prefix, retain: 0 })
    const cursor = await Effect.runPromise(store.init({ start: "origin", height: null, depth: 3, format: "ogmios" }))
    await client.del(`${prefix}cursor`)
    const gone = await run(store.write(cursor.seq + 1, cursor.producer, [], undefined))
    expect(Result.isFailure(gone) && (gone.failure as { _tag: string })._tag).toBe("RelayResync")
    const goneText = Result.isFailure(gone) ? (gone.failure as Error).message : ""
    expect(goneText).toContain(`the relay cursor ${prefix}cursor is gone (this is producer ${cursor.producer}): Redis lost writes`)
    expect(goneText).not.toContain("false")

    await client.hset(`${prefix}cursor`, { producer: 0, seq: 0 })
    const back = await run(store.write(cursor.seq + 1, cursor.producer, [], undefined))
    expect(Result.isFailure(back) ? (back.failure as Error).message : "").toContain(`the cursor went back to producer 0 (this is ${cursor.producer}): Redis lost writes`)
  })
})

describe("RelayStore in memory = RelayStore on Redis (contract)", () => {
  it("same answers and same content after every write, across forks, restarts, retries and stale producers", async () => {
    expect(await compareStores(client, conn, 0)).toBeGreaterThan(200)
  }, 120_000)

  it("the same with trimming (retain 2, below the depth): the same entries are trimmed, and every held final's apply is kept", async () => {
    // one entry per stream node makes Redis's approximate trimming (MINID ~) exact, as the memory store's
    const own = await startPrivateRedis()
    const ownScope = Effect.runSync(Scope.make())
    try {
      await own.client.config("SET", "stream-node-max-entries", "1")
      const ownConn = await Effect.runPromise(makeConnection({ url: Redacted.make(own.url), connectionName: "hecate-test-contract" }).pipe(Scope.provide(ownScope)))
      expect(await compareStores(own.client, ownConn, 2)).toBeGreaterThan(200)
    } finally {
      await Effect.runPromise(Scope.close(ownScope, Exit.void))
      await own.stop()
    }
  }, 120_000)

  it("the relay pipeline runs over the memory layer, no Redis: the stored events fold to the simulator's chain", async () => {
    const sim = await startSimulator({ port: 0, seed: "relay-memory", securityParameter: 10, initialBlocks: 30, meanBlockBytes: 512, maxRollback: 4 })
    try {
      const memory = makeMemoryRelayStore({ prefix: "memory:" })
      const fiber = Effect.runFork(
        relay({ endpoints: [sim.url], from: "origin", depth: 10, inFlight: 8 }).pipe(
          Effect.provide(Layer.mergeAll(OgmiosLive.layer({ endpoints: [sim.url] }), Layer.succeed(RelayStore, memory)))
        )
      )
      const atTip = () => memory.state().window.at(-1)?.split(" ")[2] === (sim.chain.tip() as { id: string }).id
      for (let i = 0; i < 400 && !atTip(); i++) await sleep(25)
      sim.switchFork(3, 5)
      for (let i = 0; i < 400 && !atTip(); i++) await sleep(25)
      await Effect.runPromise(Fiber.interrupt(fiber))
      const chain: Array<string> = []
      for (const [, f] of memory.state().events) {
        const type = f[1]
        const hash = f[f.indexOf("hash") + 1]!
        if (type === "apply") chain.push(hash)
        else expect(chain.pop()).toBe(hash)
      }
      expect(chain).toEqual(sim.chain.canonicalPoints().map((p) => p.id))
      expect(memory.state().final.length).toBe(sim.chain.length - 10)
    } finally {
      await sim.stop()
    }
  })
})
