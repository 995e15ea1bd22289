// The Ogmios service through its live layer, against the scripted server: typed query results,
// typed errors (1000, 1001, 2001, 2002, -32600), timeouts, endpoint rotation, and the chain-sync
// Stream whose pulls are its credits.
import { Effect, Fiber, Layer, Stream } from "effect"
import { readFileSync } from "node:fs"
import { afterEach, describe, expect, it } from "vitest"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { OgmiosConnection } from "../../src/ogmios/connection.js"
import type { ReconnectOptions } from "../../src/ogmios/follower.js"
import { Method } from "../../src/ogmios/protocol.js"
import { Ogmios } from "../../src/services/Ogmios.js"
import { RollBackward } from "../../src/domain/chain-event.js"
import { parse } from "../../src/json/lossless.js"
import { sleep, waitFor } from "./support/consumer.js"
import { startTestServer, type TestServer } from "./support/server.js"

let servers: Array<TestServer> = []
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  servers = []
})
const server = async (blocks = 0) => {
  const s = await startTestServer({ blocks })
  servers.push(s)
  return s
}

const vector = (name: string) =>
  (parse(readFileSync(`/work/shared/fixtures/ogmios/vectors/${name}.json`, "utf8")) as { result: unknown }).result

const run = <A, E>(
  srv: TestServer | Array<string>,
  effect: Effect.Effect<A, E, Ogmios>,
  requestTimeout = 2000,
  reconnect: ReconnectOptions = { initialDelay: 5, maxDelay: 20 }
) =>
  Effect.runPromise(
    effect.pipe(Effect.provide(OgmiosLive.layer({ endpoints: Array.isArray(srv) ? srv : [srv.url], requestTimeout, reconnect })))
  )

describe("Ogmios service (live layer)", () => {
  it("decodes every query result", async () => {
    const srv = await server(3)
    srv.onQuery(Method.queryNetworkTip, () => ({ result: vector("QueryNetworkTip/000") }))
    srv.onQuery(Method.queryNetworkBlockHeight, () => ({ result: "origin" }))
    srv.onQuery(Method.queryNetworkStartTime, () => ({ result: "2017-09-23T21:44:51Z" }))
    srv.onQuery(Method.queryNetworkGenesisConfiguration, (params) =>
      (params as { era: string }).era === "shelley"
        ? { result: { ...(vector("QueryNetworkGenesisConfiguration_shelley/001") as object), maxLovelaceSupply: 45_000_000_000_000_000n } }
        : { result: { era: "alonzo", updatableParameters: { x: 1 } } })
    srv.onQuery(Method.queryLedgerStateEpoch, () => ({ result: 507 }))
    srv.onQuery(Method.queryLedgerStateEraSummaries, () => ({ result: vector("QueryLedgerStateEraSummaries/000") }))
    srv.onQuery(Method.queryLedgerStateTip, () => ({ result: "origin" }))
    const out = await run(srv, Effect.gen(function*() {
      const o = yield* Ogmios
      return {
        tip: yield* o.queryNetworkTip(),
        height: yield* o.queryNetworkBlockHeight(),
        start: yield* o.queryNetworkStartTime(),
        shelley: yield* o.queryNetworkGenesisConfiguration("shelley"),
        alonzo: yield* o.queryNetworkGenesisConfiguration("alonzo"),
        epoch: yield* o.queryLedgerStateEpoch(),
        eras: yield* o.queryLedgerStateEraSummaries(),
        ledgerTip: yield* o.queryLedgerStateTip(),
        intersection: yield* o.findIntersection(["origin"])
      }
    }))
    expect(out.tip).toEqual(vector("QueryNetworkTip/000"))
    expect(out.height).toBe("origin")
    expect(out.start).toBe("2017-09-23T21:44:51Z")
    expect(out.shelley.era).toBe("shelley")
    expect(out.shelley.maxLovelaceSupply).toBe(45_000_000_000_000_000n)
    expect(out.shelley["initialDelegates"]).toBeDefined() // open: the rest passes through
    expect(out.alonzo).toEqual({ era: "alonzo", updatableParameters: { x: 1 } })
    expect(out.epoch).toBe(507)
    expect(out.eras).toEqual(vector("QueryLedgerStateEraSummaries/000"))
    expect(out.ledgerTip).toBe("origin")
    expect(out.intersection).toEqual({ intersection: "origin", tip: { slot: srv.chain[2]!.slot, id: srv.chain[2]!.id, height: 3 } })
    // our requests carry our own ids; the server echoed them (or the calls would have timed out)
    const ids = srv.stats.received.map((m) => (m as { id?: unknown }).id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("maps error codes to typed errors", async () => {
    const srv = await server(2)
    srv.onQuery(Method.queryLedgerStateEpoch, () => ({ error: { code: 2001, message: "era mismatch", data: { queryEra: "babbage", ledgerEra: "conway" } } }))
    srv.onQuery(Method.queryLedgerStateTip, () => ({ error: { code: 2002, message: "unavailable in byron" } }))
    srv.onQuery(Method.queryNetworkTip, () => ({ error: { code: -32603, message: "internal" } }))
    const errors = await run(srv, Effect.gen(function*() {
      const o = yield* Ogmios
      return [
        yield* Effect.flip(o.queryLedgerStateEpoch()),
        yield* Effect.flip(o.queryLedgerStateTip()),
        yield* Effect.flip(o.queryNetworkTip()),
        yield* Effect.flip(o.queryNetworkStartTime()), // unknown to the server: -32600, no method
        yield* Effect.flip(o.findIntersection([{ slot: 5, id: "e".repeat(64) }]))
      ]
    }))
    expect(errors[0]).toMatchObject({ _tag: "EraMismatch", queryEra: "babbage", ledgerEra: "conway" })
    expect(errors[1]).toMatchObject({ _tag: "QueryUnavailableInCurrentEra" })
    expect(errors[2]).toMatchObject({ _tag: "OgmiosRpcError", code: -32603, method: "queryNetwork/tip" })
    expect(errors[3]).toMatchObject({ _tag: "OgmiosRpcError", code: -32600 })
    expect(errors[4]).toMatchObject({ _tag: "IntersectionNotFound", tip: { height: 2 } })
  })

  it("a result of the wrong shape is a MalformedFrame at once; an unanswered query is retried, then OgmiosUnavailable", async () => {
    const srv = await server()
    srv.onQuery(Method.queryLedgerStateEpoch, () => ({ result: "soon" }))
    srv.onQuery(Method.queryNetworkTip, () => "ignore")
    const errors = await run(srv, Effect.gen(function*() {
      const o = yield* Ogmios
      return [yield* Effect.flip(o.queryLedgerStateEpoch()), yield* Effect.flip(o.queryNetworkTip())]
    }), 150, { initialDelay: 5, maxAttempts: 2 })
    expect(errors[0]).toMatchObject({ _tag: "MalformedFrame" })
    expect(errors[1]).toMatchObject({ _tag: "OgmiosUnavailable", what: "queryNetwork/tip", attempts: 3, cause: "no answer to queryNetwork/tip for 150 ms" })
    expect(errors[1]).toHaveProperty("exitCode", 10)
    // each attempt was on a fresh connection: a silent one is never reused
    expect(srv.stats.connections).toBe(3)
  })

  it("fails the layer with OgmiosUnavailable when no endpoint answers through the schedule, and rotates to a live one", async () => {
    const dead = await server()
    const deadUrl = dead.url
    await dead.stop()
    servers = []
    const layer = OgmiosLive.layer({ endpoints: [deadUrl], reconnect: { initialDelay: 5, maxAttempts: 2 } })
    const err = await Effect.runPromise(Effect.flip(Effect.provide(Ogmios.use(() => Effect.void), layer)))
    expect(err).toMatchObject({ _tag: "OgmiosUnavailable", what: "connecting", attempts: 3 })
    expect((err as { cause: string }).cause).toContain(deadUrl)
    expect(err.message).toMatch(/^Ogmios unavailable: connecting failed 3 times \(the first try and 2 retries of the reconnect schedule\)/)
    const live = await server(1)
    live.onQuery(Method.queryLedgerStateEpoch, () => ({ result: 1 }))
    expect(await run([deadUrl, live.url], Ogmios.use((o) => o.queryLedgerStateEpoch()))).toBe(1)
  })

  it("a dropped query connection: the pending query is retried on the next endpoint, and so is the next query", async () => {
    const a = await server()
    const b = await server()
    for (const s of [a, b]) s.onQuery(Method.queryLedgerStateEpoch, () => ({ result: s === a ? 1 : 2 }))
    a.onQuery(Method.queryNetworkTip, () => "ignore")
    b.onQuery(Method.queryNetworkTip, () => ({ result: vector("QueryNetworkTip/000") }))
    const out = await run([a.url, b.url], Effect.gen(function*() {
      const o = yield* Ogmios
      const first = yield* o.queryLedgerStateEpoch()
      const pending = yield* Effect.forkChild(o.queryNetworkTip())
      yield* Effect.sleep("50 millis")
      a.closeAll(1001, "bye")
      const tip = yield* Fiber.join(pending)
      const second = yield* o.queryLedgerStateEpoch()
      return { first, tip, second }
    }))
    expect(out.first).toBe(1)
    expect(out.tip).toEqual(vector("QueryNetworkTip/000")) // answered by b
    expect(out.second).toBe(2)
    expect(b.stats.received).toContainEqual(expect.objectContaining({ method: Method.queryNetworkTip }))
  })

  it("chainSync stream: pulls are credits", async () => {
    const srv = await server(200)
    const { events, sessionsAfter } = await run(srv, Effect.gen(function*() {
      const o = yield* Ogmios
      const events = yield* o.chainSync(["origin"], { inFlight: 6 }).pipe(
        Stream.tap(() => Effect.sleep("1 millis")),
        Stream.take(201),
        Stream.runCollect
      )
      yield* Effect.sleep("100 millis")
      return { events, sessionsAfter: srv.sessions.length }
    }))
    expect(events[0]).toEqual(RollBackward("origin", { slot: srv.chain[199]!.slot, id: srv.chain[199]!.id, height: 200 }))
    expect(events.slice(1).map((e) => (e._tag === "RollForward" ? e.block.id : ""))).toEqual(srv.chain.map((b) => b.id))
    expect(srv.stats.maxOutstanding).toBeLessThanOrEqual(6)
    expect(sessionsAfter).toBe(1) // the stream closed its socket; only the query socket remains
  })

  it("chainSync stream: a consumer that stops pulling stops the requests", async () => {
    const srv = await server(500)
    let taken = 0
    const fiber = Effect.runFork(Effect.provide(Effect.gen(function*() {
      const o = yield* Ogmios
      yield* o.chainSync(["origin"], { inFlight: 5 }).pipe(
        Stream.tap(() => Effect.sync(() => taken++)),
        Stream.take(20),
        Stream.tap(() => taken === 20 ? Effect.never : Effect.void),
        Stream.runDrain
      )
    }), OgmiosLive.layer({ endpoints: [srv.url] })))
    await waitFor(() => taken === 20, 5000, "20 taken")
    await sleep(200)
    // 20 pulled, each pull returned one credit: at most 5 more were requested, then silence
    expect(srv.stats.nextBlockRequests).toBeLessThanOrEqual(25)
    expect(srv.stats.maxOutstanding).toBeLessThanOrEqual(5)
    await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("chainSync stream fails with the typed error", async () => {
    const srv = await server(3)
    const err = await run(srv, Ogmios.use((o) => Effect.flip(Stream.runDrain(o.chainSync([{ slot: 1, id: "1".repeat(64) }])))))
    expect(err).toMatchObject({ _tag: "IntersectionNotFound" })
  })

  it("a test layer needs nothing but the interface", async () => {
    const TestOgmios = Layer.mock(Ogmios, {
      queryLedgerStateEpoch: () => Effect.succeed(42),
      chainSync: () => Stream.make(RollBackward("origin", "origin"))
    })
    const out = await Effect.runPromise(Effect.provide(Effect.gen(function*() {
      const o = yield* Ogmios
      return [yield* o.queryLedgerStateEpoch(), yield* Stream.runCollect(o.chainSync(["origin"]))] as const
    }), TestOgmios))
    expect(out).toEqual([42, [RollBackward("origin", "origin")]])
  })
})

describe("OgmiosConnection", () => {
  it("findIntersection while nextBlock requests are unanswered is IntersectionInterleaved (1001)", async () => {
    const srv = await server(2)
    const conn = await OgmiosConnection.open(srv.url)
    const replies: Array<unknown> = []
    conn.onChainSync = (frame) => replies.push(frame)
    conn.nextBlock(5) // 3 answered (backward + 2 blocks), 2 held at the tip
    await waitFor(() => replies.length === 3, 2000, "3 replies")
    await expect(conn.request(Method.findIntersection, { points: ["origin"] })).rejects.toMatchObject({ _tag: "IntersectionInterleaved" })
    conn.close()
    await expect(conn.request(Method.queryNetworkTip)).rejects.toMatchObject({ _tag: "ConnectionLost", reason: "client closed" })
  })

  it("accepts frames larger than 90 KB", async () => {
    const srv = await startTestServer({ blocks: 3, padding: 200_000 })
    servers.push(srv)
    const conn = await OgmiosConnection.open(srv.url)
    const sizes: Array<number> = []
    conn.onChainSync = (_frame, text) => sizes.push(text.length)
    conn.nextBlock(4)
    await waitFor(() => sizes.length === 4, 2000, "4 replies")
    expect(Math.min(...sizes.slice(1))).toBeGreaterThan(200_000)
    conn.close()
  })
})
