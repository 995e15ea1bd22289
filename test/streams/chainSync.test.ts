// chainSync$ against the scripted Ogmios server: credit discipline, reconnect + resume without
// gaps or duplicates, forks during an outage, timeouts, typed errors, unsubscribe.
import { afterEach, describe, expect, it } from "vitest"
import { ConnectionLost, IntersectionNotFound, MalformedFrame, OgmiosRpcError } from "../../src/ogmios/errors.js"
import type { ReconnectInfo } from "../../src/ogmios/follower.js"
import { chainSync$ } from "../../src/streams/chainSync.js"
import { consume, sleep, waitFor } from "../ogmios/support/consumer.js"
import { pointOf, startTestServer, type TestServer } from "../ogmios/support/server.js"

let servers: Array<TestServer> = []
const server = async (options: Parameters<typeof startTestServer>[0] = {}) => {
  const s = await startTestServer(options)
  servers.push(s)
  return s
}
const subs: Array<{ unsubscribe(): void }> = []
afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe()
  await Promise.all(servers.map((s) => s.stop()))
  servers = []
})

const fastReconnect = { initialDelay: 20, maxDelay: 100 }

describe("chainSync$: credit", () => {
  it("never has more than inFlight requests outstanding and stops asking while the consumer stalls", async () => {
    const srv = await server({ blocks: 400, padding: 60_000 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 8 })
    const c = consume(source, { ack: "manual" })
    subs.push(c.sub)
    await waitFor(() => c.model.events.length === 8, 5000, "8 events")
    const before = process.memoryUsage()
    await sleep(400)
    // stalled: exactly the initial 8 credits were spent, nothing more was asked or received
    expect(srv.stats.nextBlockRequests).toBe(8)
    expect(srv.stats.maxOutstanding).toBeLessThanOrEqual(8)
    expect(c.model.events).toHaveLength(8)
    expect(srv.sessions[0]!.waiting).toBe(0)
    const heapGrowth = process.memoryUsage().heapUsed - before.heapUsed
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024) // far less than one more window of 60 KB blocks... flat
    // granting 3 credits lets exactly 3 more through
    source.request(3)
    await waitFor(() => c.model.events.length === 11, 5000, "11 events")
    await sleep(100)
    expect(srv.stats.nextBlockRequests).toBe(11)
    expect(c.model.events).toHaveLength(11)
  })

  it("a slow consumer keeps at most inFlight outstanding across a long sync", async () => {
    const srv = await server({ blocks: 300 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 8 })
    const c = consume(source, { ack: 1 })
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 300, 20_000, "300 blocks")
    expect(srv.stats.maxOutstanding).toBeLessThanOrEqual(8)
    expect(srv.stats.maxOutstanding).toBeGreaterThan(1) // it does pipeline
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
    expect(c.model.violations).toEqual([])
  })

  it("autoRequest grants a credit per handled event", async () => {
    const srv = await server({ blocks: 250 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 16, autoRequest: true })
    const c = consume(source, { ack: "manual" })
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 250, 10_000, "250 blocks")
    expect(srv.stats.maxOutstanding).toBeLessThanOrEqual(16)
    // at the tip, the requests stay parked on the server (that is the credit, not a buffer)
    await waitFor(() => (srv.sessions[0]?.waiting ?? 0) >= 15, 2000, "15+ parked")
    expect(srv.sessions[0]!.waiting).toBeLessThanOrEqual(16)
  })
})

describe("chainSync$: start and resume", () => {
  it("delivers the initial intersection as a RollBackward, then the blocks after it", async () => {
    const srv = await server({ blocks: 50 })
    const from = pointOf(srv.chain[19]!)
    const source = chainSync$({ endpoints: [srv.url], points: [{ slot: 999_999, id: "f".repeat(64) }, from], inFlight: 10 })
    const events: Array<unknown> = []
    const sub = source.subscribe((e) => {
      events.push(e)
      source.request(1)
    })
    subs.push(sub)
    await waitFor(() => events.length === 31, 5000, "31 events")
    expect(events[0]).toMatchObject({ _tag: "RollBackward", point: from })
    expect((events[1] as { block: { height: number } }).block.height).toBe(21)
  })

  it("reconnects several times mid-stream: no gap, no duplicate, equals the server's chain", async () => {
    const srv = await server({ blocks: 500 })
    srv.dropConnectionsAfter(37, 90, 1, 2, 150)
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({
      endpoints: [srv.url], points: ["origin"], inFlight: 25, reconnect: fastReconnect,
      onReconnect: (info) => reconnects.push(info)
    })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 500, 20_000, "500 blocks")
    await sleep(50)
    expect(srv.stats.connections).toBe(6)
    expect(reconnects).toHaveLength(5)
    expect(reconnects.every((r) => r.error._tag === "ConnectionLost")).toBe(true)
    expect(c.model.violations).toEqual([])
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
    // only the initial RollBackward: the resume confirmations were swallowed
    expect(c.model.backwards).toHaveLength(1)
    expect(c.model.events).toHaveLength(501)
    // credits survived the drops: the pipeline is full again at the tip (top-ups go in batches of
    // inFlight/10, so up to one batch minus one may be unsent)
    await waitFor(() => (srv.sessions[0]?.waiting ?? 0) >= 24, 2000, "full pipeline at the tip")
    expect(srv.sessions[0]!.waiting).toBeLessThanOrEqual(25)
  })

  it("a fork during the outage yields a RollBackward to the fork point, then the new branch", async () => {
    const srv = await server({ blocks: 100 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 10, reconnect: { initialDelay: 150, maxDelay: 150, jitter: 0 } })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 100, 5000, "100 blocks")
    const forkPoint = pointOf(srv.chain[94]!)
    srv.dropAll()
    await sleep(20)
    srv.fork(5, 7) // blocks 96..100 replaced by 7 new ones while we are away
    await waitFor(() => c.model.blocks.length === 102 && c.model.ids.at(-1) === srv.chain.at(-1)!.id, 5000, "new branch")
    expect(c.model.violations).toEqual([])
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
    expect(c.model.backwards).toHaveLength(2)
    expect(c.model.backwards[1]).toMatchObject({ _tag: "RollBackward", point: forkPoint })
    const afterRollback = c.model.events.slice(c.model.events.indexOf(c.model.backwards[1]!) + 1)
    expect(afterRollback).toHaveLength(7)
  })

  it("a deep fork during the outage resumes from a sparse point of the window", async () => {
    const srv = await server({ blocks: 400 })
    const source = chainSync$({
      endpoints: [srv.url], points: ["origin"], inFlight: 10, resumePoints: { dense: 8 },
      reconnect: { initialDelay: 150, maxDelay: 150, jitter: 0 }
    })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 400, 5000, "400 blocks")
    srv.dropAll()
    await sleep(20)
    srv.fork(123, 130)
    await waitFor(() => c.model.ids.at(-1) === srv.chain.at(-1)!.id, 5000, "new branch")
    expect(c.model.violations).toEqual([])
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
    const rollback = c.model.backwards[1] as { point: { slot: number } }
    // not the exact fork point (277 is not kept that deep), but the newest kept point before it
    expect(rollback.point.slot).toBeLessThan(srv.chain[277]!.slot)
    expect(rollback.point.slot).toBeGreaterThan(srv.chain[277 - 64]!.slot)
  })

  it("a fork while connected is passed through as the server's RollBackward", async () => {
    const srv = await server({ blocks: 30 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 5 })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 30, 5000, "30 blocks")
    srv.fork(3, 4)
    await waitFor(() => c.model.blocks.length === 31, 5000, "fork applied")
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
    expect(c.model.violations).toEqual([])
  })

  it("rotates endpoints on reconnect", async () => {
    const a = await server({ blocks: 60 })
    const b = await server({ blocks: 60 }) // same deterministic chain
    a.dropConnectionsAfter(20)
    const endpoints: Array<string> = []
    const source = chainSync$({
      endpoints: [a.url, b.url], points: ["origin"], inFlight: 5, reconnect: fastReconnect,
      onConnected: (info) => endpoints.push(info.endpoint)
    })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 60, 5000, "60 blocks")
    expect(endpoints).toEqual([a.url, b.url])
    expect(c.model.violations).toEqual([])
    expect(c.model.ids).toEqual(b.chain.map((x) => x.id))
  })

  it("keeps retrying a dead endpoint with backoff, and gives up after maxAttempts", async () => {
    const srv = await server({ blocks: 5 })
    const url = srv.url
    await srv.stop()
    servers = []
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({ endpoints: [url], points: ["origin"], reconnect: { initialDelay: 10, maxDelay: 40, maxAttempts: 4 }, onReconnect: (r) => reconnects.push(r) })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.error !== undefined, 5000, "error")
    expect(c.error).toBeInstanceOf(ConnectionLost)
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2, 3, 4])
    expect(reconnects.every((r) => r.delayMs <= 48)).toBe(true)
  })
})

describe("chainSync$: errors and timeouts", () => {
  it("IntersectionNotFound on every candidate errors the Observable with the server's tip", async () => {
    const srv = await server({ blocks: 10 })
    const source = chainSync$({ endpoints: [srv.url], points: [{ slot: 1, id: "0".repeat(64) }] })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.error !== undefined, 5000, "error")
    expect(c.error).toBeInstanceOf(IntersectionNotFound)
    expect((c.error as IntersectionNotFound).tip).toEqual({ slot: srv.chain[9]!.slot, id: srv.chain[9]!.id, height: 10 })
    expect(srv.stats.connections).toBe(1) // not retried: a different socket would not help
  })

  it("a malformed frame is a connection fault: the session reconnects and resumes, nothing lost or repeated", async () => {
    const srv = await server({ blocks: 10 })
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], reconnect: fastReconnect, onReconnect: (r) => reconnects.push(r) })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 10, 5000, "10 blocks")
    srv.sendRaw('{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":{"id":1}},"id":null}')
    await waitFor(() => reconnects.length === 1, 5000, "a reconnect")
    expect(reconnects[0]!.error).toBeInstanceOf(MalformedFrame)
    expect(reconnects[0]!.error.message).toContain("forward without a valid block header")
    await waitFor(() => srv.stats.connections === 2, 5000, "the second connection")
    srv.forge(5)
    await waitFor(() => c.model.blocks.length === 15, 5000, "15 blocks")
    expect(c.error).toBeUndefined()
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
  })

  it("an RPC error on nextBlock errors the Observable", async () => {
    const srv = await server({ blocks: 3 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"] })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 3, 5000, "3 blocks")
    srv.sendRaw('{"jsonrpc":"2.0","method":"nextBlock","error":{"code":-32603,"message":"boom"},"id":null}')
    await waitFor(() => c.error !== undefined, 5000, "error")
    expect(c.error).toBeInstanceOf(OgmiosRpcError)
    expect((c.error as OgmiosRpcError).code).toBe(-32603)
  })

  it("surfaces the server's close reason (-32000 node lost) and reconnects", async () => {
    const srv = await server({ blocks: 20 })
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], reconnect: fastReconnect, onReconnect: (r) => reconnects.push(r) })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 20, 5000, "20 blocks")
    srv.closeAll(1000, JSON.stringify({ id: null, code: -32000, message: "Connection with the node lost or failed." }))
    await waitFor(() => reconnects.length === 1, 5000, "reconnect")
    const lost = reconnects[0]!.error as ConnectionLost
    expect(lost).toBeInstanceOf(ConnectionLost)
    expect(lost).toMatchObject({ code: 1000, rpcCode: -32000, rpcMessage: "Connection with the node lost or failed." })
    srv.forge(3)
    await waitFor(() => c.model.blocks.length === 23, 5000, "23 blocks")
    expect(c.model.violations).toEqual([])
    expect(c.model.backwards).toHaveLength(1)
  })

  it("with maxAttempts 0 the close reason errors the Observable", async () => {
    const srv = await server({ blocks: 5 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], reconnect: { maxAttempts: 0 } })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 5, 5000, "5 blocks")
    srv.closeAll(1011, "going away for maintenance")
    await waitFor(() => c.error !== undefined, 5000, "error")
    expect(c.error).toMatchObject({ _tag: "ConnectionLost", code: 1011, reason: "going away for maintenance" })
  })

  it("times out a silent server below the tip, but never at the tip", async () => {
    const srv = await server({ blocks: 40 })
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({
      endpoints: [srv.url], points: ["origin"], inFlight: 4, requestTimeout: 150, reconnect: fastReconnect,
      onReconnect: (r) => reconnects.push(r)
    })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 40, 5000, "40 blocks")
    // at the tip: silence is normal
    await sleep(500)
    expect(reconnects).toHaveLength(0)
    srv.forge(1)
    await waitFor(() => c.model.blocks.length === 41, 5000, "41 blocks")
    // below the tip: a server that stops answering is a fault
    srv.setReplyDelay(400)
    srv.forge(20)
    await waitFor(() => reconnects.length >= 1, 5000, "timeout reconnect")
    expect(reconnects[0]!.error._tag).toBe("RequestTimeout")
    srv.setReplyDelay(0)
    await waitFor(() => c.model.blocks.length === 61, 5000, "61 blocks")
    expect(c.model.violations).toEqual([])
    expect(c.model.ids).toEqual(srv.chain.map((b) => b.id))
  })

  it("detects a dead peer with keepalive pings", async () => {
    const srv = await server({ blocks: 5 })
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({
      endpoints: [srv.url], points: ["origin"], keepAliveInterval: 100, reconnect: fastReconnect,
      onReconnect: (r) => reconnects.push(r)
    })
    const c = consume(source)
    subs.push(c.sub)
    await waitFor(() => c.model.blocks.length === 5, 5000, "5 blocks")
    await sleep(350)
    expect(reconnects).toHaveLength(0) // pongs keep it alive at the tip
    // the peer stops reading (and so never answers pings)
    ;(srv.sessions[0]!.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    await waitFor(() => reconnects.length >= 1, 3000, "dead peer detected")
    expect(reconnects[0]!.error).toMatchObject({ _tag: "ConnectionLost", code: 1006 })
    expect((reconnects[0]!.error as ConnectionLost).message).toMatch(/dead peer/)
  })
})

describe("chainSync$: unsubscribe", () => {
  it("closes the socket", async () => {
    const srv = await server({ blocks: 10 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"] })
    const c = consume(source)
    await waitFor(() => c.model.blocks.length === 10, 5000, "10 blocks")
    expect(srv.sessions).toHaveLength(1)
    c.sub.unsubscribe()
    await waitFor(() => srv.sessions.length === 0, 2000, "socket closed")
    srv.forge(5)
    await sleep(100)
    expect(c.model.blocks).toHaveLength(10)
    expect(srv.stats.connections).toBe(1)
  })

  it("take(n) stops the session after n events", async () => {
    const { take, toArray, lastValueFrom } = await import("rxjs")
    const srv = await server({ blocks: 100 })
    const source = chainSync$({ endpoints: [srv.url], points: ["origin"], inFlight: 10, autoRequest: true })
    const events = await lastValueFrom(source.pipe(take(25), toArray()))
    expect(events).toHaveLength(25)
    await waitFor(() => srv.sessions.length === 0, 2000, "socket closed")
  })
})
