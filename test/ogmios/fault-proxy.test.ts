// The fault proxy itself (test/support/fault-proxy.ts): a plain ws client behind it sees exactly
// the fault armed, at the trigger, and the untouched frames elsewhere.
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { parse } from "../../src/json/lossless.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { type Fault, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"

let sim: SimulatorHandle | undefined
let proxy: FaultProxy | undefined
afterEach(async () => {
  await proxy?.close()
  await sim?.stop()
  proxy = undefined
  sim = undefined
})

interface Seen {
  readonly texts: Array<string>
  readonly closed: Promise<{ code: number; error: string | undefined }>
}

/** Intersects at origin, asks for `n` blocks, and records what arrives for `ms`. */
const session = async (url: string, n: number, ms = 400): Promise<Seen> => {
  const ws = new WebSocket(url, { maxPayload: 128 * 1024 * 1024 })
  const texts: Array<string> = []
  let error: string | undefined
  ws.on("message", (d) => texts.push(d.toString()))
  ws.on("error", (e) => (error = e.message))
  const closed = new Promise<{ code: number; error: string | undefined }>((resolve) =>
    ws.on("close", (code) => resolve({ code, error }))
  )
  await new Promise((resolve, reject) => {
    ws.once("open", resolve)
    ws.once("error", reject)
  })
  ws.send(JSON.stringify({ jsonrpc: "2.0", method: "findIntersection", params: { points: ["origin"] }, id: 1 }))
  for (let i = 0; i < n; i++) ws.send(JSON.stringify({ jsonrpc: "2.0", method: "nextBlock" }))
  await new Promise((resolve) => setTimeout(resolve, ms))
  if (ws.readyState === WebSocket.OPEN) ws.close()
  return { texts, closed }
}

const setup = async (fault?: Fault) => {
  sim = await startSimulator({ port: 0, network: "custom", epochLength: 100, initialBlocks: 30, activeSlotsCoefficient: 0.5 })
  proxy = await startFaultProxy(sim.url, fault)
  return proxy
}

type Frame = { id?: unknown; result: { direction: string; block?: { height: number; ancestor: string; id: string }; point?: { id: string } } }
const frames = (seen: Seen) => seen.texts.map((t) => parse(t) as Frame)

describe("fault proxy", () => {
  it("passes every frame untouched when no fault is armed", async () => {
    const p = await setup()
    const direct = await session(sim!.url, 5)
    const proxied = await session(p.url, 5)
    expect(proxied.texts).toEqual(direct.texts)
    expect(proxied.texts).toHaveLength(6) // the intersection and 5 nextBlock replies
    expect(p.fired).toBe(0)
  })

  it("corrupts, truncates and changes the id of the chosen frame only", async () => {
    const p = await setup({ kind: "corrupt", at: { frame: 3 } })
    const direct = await session(sim!.url, 4)
    const corrupt = await session(p.url, 4)
    expect(() => JSON.parse(corrupt.texts[2]!)).toThrow()
    expect(corrupt.texts.filter((_, i) => i !== 2)).toEqual(direct.texts.filter((_, i) => i !== 2))

    p.arm({ kind: "truncate", at: { method: "nextBlock", nth: 2 } })
    const truncated = await session(p.url, 4)
    expect(truncated.texts[2]).toBe(direct.texts[2]!.slice(0, Math.floor(direct.texts[2]!.length / 2)))

    p.arm({ kind: "changeId", at: { frame: 1 } })
    const changed = frames(await session(p.url, 1))
    expect(changed[0]!.id).not.toBe(1)
    expect(p.fired).toBe(3)
  })

  it("jumps a height, breaks a parent hash, rolls back to an unknown point at a chosen height", async () => {
    const p = await setup({ kind: "jumpHeight", at: { height: 2 } })
    const jumped = frames(await session(p.url, 5)).map((f) => f.result.block?.height)
    // the first reply is the backward to origin; block 2 then claims height 3, its ancestor is block 1
    expect(jumped.slice(1)).toEqual([undefined, 0, 1, 3, 3])

    p.arm({ kind: "breakParent", at: { height: 3 } })
    const broken = frames(await session(p.url, 5))
    expect(broken[5]!.result.block!.height).toBe(3)
    expect(broken[5]!.result.block!.ancestor).not.toBe(broken[4]!.result.block!.id)
    expect(broken[4]!.result.block!.ancestor).toBe(broken[3]!.result.block!.id)

    p.arm({ kind: "rollbackUnknown", at: { frame: 3 } })
    const rolled = frames(await session(p.url, 3))
    expect(rolled[2]!.result.direction).toBe("backward")
    expect(sim!.chain.find({ slot: 0, id: rolled[2]!.result.point!.id })).toBeUndefined()
    expect(sim!.chain.canonicalPoints().some((q) => q.id === rolled[2]!.result.point!.id)).toBe(false)
  })

  it("oversize: the client refuses the frame from its header", async () => {
    const p = await setup({ kind: "oversize", at: { method: "nextBlock", nth: 1 } })
    const seen = await session(p.url, 3)
    const end = await seen.closed
    expect(end.error).toMatch(/Max payload size exceeded/)
    expect(seen.texts).toHaveLength(1) // only the intersection
  })

  it("closeMidFrame: half a frame, then the TCP connection ends (close 1006)", async () => {
    const p = await setup({ kind: "closeMidFrame", at: { frame: 2 }, repeat: "always" })
    for (let i = 0; i < 2; i++) {
      const seen = await session(p.url, 3)
      expect((await seen.closed).code).toBe(1006)
      expect(seen.texts).toHaveLength(1)
    }
    expect(p.fired).toBe(2)
  })

  it("stall: nothing after the trigger while the socket stays open; repeat once disarms after one connection", async () => {
    const p = await setup({ kind: "stall", at: { frame: 2 } })
    const stalled = await session(p.url, 3)
    expect(stalled.texts).toHaveLength(1)
    expect((await stalled.closed).code).toBe(1005) // our own close: the proxy never dropped it
    const next = await session(p.url, 3)
    expect(next.texts).toHaveLength(4)
    expect(p.fired).toBe(1)
  })

  it("delay: frames from the trigger on arrive late, in order", async () => {
    const p = await setup({ kind: "delay", at: { frame: 2 }, delayMs: 300 })
    const early = await session(p.url, 3, 150)
    expect(early.texts).toHaveLength(1)
    const late = await session(p.url, 3, 600) // repeat "once": this connection is not delayed
    expect(late.texts).toHaveLength(4)
    p.arm({ kind: "delay", at: { afterMs: 0 }, delayMs: 200 })
    const all = await session(p.url, 3, 500)
    expect(frames(all).slice(1).map((f) => f.result.block?.height)).toEqual([undefined, 0, 1])
  })
})
