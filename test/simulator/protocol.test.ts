import { bech32 } from "@scure/base"
import { afterEach, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "../../src/simulator/index.js"
import { connect, findIntersection, nextBlock, type RawClient } from "./raw-client.js"
import { validateBoth } from "./schemas.js"

const running: Array<SimulatorHandle> = []
const clients: Array<RawClient> = []
const start = async (options: SimulatorOptions = {}) => {
  const sim = await startSimulator({ port: 0, initialBlocks: 50, meanBlockBytes: 2000, ...options })
  running.push(sim)
  return sim
}
const open = async (sim: SimulatorHandle) => {
  const c = await connect(sim.url)
  clients.push(c)
  return c
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of running.splice(0)) await s.stop()
})

/** Replays nextBlock replies onto a list of block ids (the client's view of the chain). */
const applyReply = (chain: Array<{ slot: number; id: string }>, reply: any) => {
  const r = reply.result
  if (r.direction === "forward") {
    const last = chain.at(-1)
    if (last) expect(r.block.ancestor).toBe(last.id)
    chain.push({ slot: r.block.slot, id: r.block.id })
  } else {
    const i = r.point === "origin" ? -1 : chain.findIndex((p) => p.id === r.point.id)
    if (r.point !== "origin") expect(i).toBeGreaterThanOrEqual(0)
    chain.length = i + 1
  }
}

describe("chain sync", () => {
  it("a fresh connection starts with a backward to origin, then block 0 whose ancestor is genesis", async () => {
    const sim = await start()
    const c = await open(sim)
    c.send(nextBlock)
    c.send(nextBlock)
    const first = await c.next()
    expect(first).toEqual({ jsonrpc: "2.0", method: "nextBlock", result: { direction: "backward", point: "origin", tip: sim.chain.tip() }, id: null })
    const second = await c.next()
    expect(second.result.direction).toBe("forward")
    expect(second.result.block).toMatchObject({ type: "praos", era: "conway", height: 0, slot: 0, ancestor: "genesis", id: sim.chain.idAt(0) })
    expect(second.result.tip).toEqual(sim.chain.tip())
    expect(second.id).toBeNull()
  })

  it("findIntersection: first listed point on the chain wins; origin always intersects; misses give 1000 with the tip", async () => {
    const sim = await start()
    const c = await open(sim)
    const p10 = sim.chain.pointAt(10)
    const p20 = sim.chain.pointAt(20)
    const stranger = { slot: 5, id: "ab".repeat(32) }
    c.send(findIntersection([stranger, p20, p10], { requestId: "x1" }))
    expect(await c.next()).toEqual({ jsonrpc: "2.0", method: "findIntersection", result: { intersection: p20, tip: sim.chain.tip() }, id: { requestId: "x1" } })
    // the first nextBlock after an intersection is a backward to it, then the block after it
    c.send(nextBlock)
    c.send(nextBlock)
    expect((await c.next()).result).toEqual({ direction: "backward", point: p20, tip: sim.chain.tip() })
    expect((await c.next()).result.block.height).toBe(21)

    c.send(findIntersection([stranger, "origin"], 7))
    expect((await c.next()).result).toEqual({ intersection: "origin", tip: sim.chain.tip() })

    c.send(findIntersection([stranger], "miss"))
    expect(await c.next()).toEqual({
      jsonrpc: "2.0",
      method: "findIntersection",
      error: { code: 1000, message: "No intersection found.", data: { tip: sim.chain.tip() } },
      id: "miss"
    })
    c.send(findIntersection([], "empty"))
    expect((await c.next()).error.code).toBe(1000)
    // a miss leaves the cursor at origin (from the previous successful intersection)
    c.send(nextBlock)
    expect((await c.next()).result).toMatchObject({ direction: "backward", point: "origin" })
  })

  it("1001 is sent at once, ahead of the unanswered nextBlock replies, and changes nothing", async () => {
    const sim = await start()
    const c = await open(sim)
    // same socket write: the nextBlocks are still pending when findIntersection is read
    c.send(nextBlock)
    c.send({ ...nextBlock, id: "n2" })
    c.send(findIntersection(["origin"], "fi"))
    const first = await c.next()
    expect(first).toEqual({
      jsonrpc: "2.0",
      method: "findIntersection",
      error: { code: 1001, message: expect.stringContaining("Cannot interleave") },
      id: "fi"
    })
    expect((await c.next()).result).toMatchObject({ direction: "backward", point: "origin" })
    const second = await c.next()
    expect(second.result.block.height).toBe(0)
    expect(second.id).toBe("n2")

    // at the tip: a waiting nextBlock also makes findIntersection fail with 1001
    c.send(findIntersection([sim.chain.pointAt(sim.chain.tipIndex)]))
    expect((await c.next()).result.intersection).toEqual(sim.chain.pointAt(sim.chain.tipIndex))
    c.send(nextBlock)
    c.send(nextBlock)
    expect((await c.next()).result.direction).toBe("backward")
    c.send(findIntersection(["origin"], "again"))
    expect((await c.next()).error.code).toBe(1001)
    sim.forge(1)
    const forward = await c.next()
    expect(forward.result.block.height).toBe(sim.chain.heightOf(sim.chain.tipIndex))
  })

  it("at the tip nextBlock waits until a block is forged", async () => {
    const sim = await start()
    const c = await open(sim)
    c.send(findIntersection([sim.chain.pointAt(sim.chain.tipIndex)]))
    await c.next()
    c.send(nextBlock)
    c.send(nextBlock)
    expect((await c.next()).result.direction).toBe("backward")
    expect(await c.silentFor(150)).toBe(true)
    sim.forge(1)
    const reply = await c.next()
    expect(reply.result.block.id).toBe(sim.chain.idAt(sim.chain.tipIndex))
    expect(reply.result.block.ancestor).toBe(sim.chain.idAt(sim.chain.tipIndex - 1))
  })

  it("pipelines 1000 requests and answers them in order", async () => {
    const sim = await start({ initialBlocks: 1200 })
    const c = await open(sim)
    for (let i = 0; i < 1000; i++) c.send({ ...nextBlock, id: i })
    const first = await c.next()
    expect(first.id).toBe(0)
    expect(first.result.direction).toBe("backward")
    for (let i = 1; i < 1000; i++) {
      const reply = await c.next()
      expect(reply.id).toBe(i)
      expect(reply.result.block.height).toBe(i - 1)
    }
  })

  it("a fork mid-pipeline: followers get a backward to the fork point and end on the new branch", async () => {
    const sim = await start({ initialBlocks: 200 })
    const c = await open(sim)
    const view: Array<{ slot: number; id: string }> = []
    for (let i = 0; i < 120; i++) c.send(nextBlock)
    applyReply(view, await c.next()) // backward to origin
    applyReply(view, await c.next())
    const before = sim.chain.idAt(195)
    sim.switchFork(10, 11) // the follower is somewhere in 1..119: replies already written are on the old branch
    expect(sim.chain.idAt(195)).not.toBe(before)
    for (let i = 2; i < 120; i++) applyReply(view, await c.next())
    // drain: ask until the tip
    while (view.length < sim.chain.length) {
      c.send(nextBlock)
      applyReply(view, await c.next())
    }
    expect(view).toEqual(sim.chain.canonicalPoints())
  })

  it("a follower past the fork point gets the backward while waiting at the tip, then the new branch", async () => {
    const sim = await start({ securityParameter: 20 })
    const c = await open(sim)
    const tip = sim.chain.pointAt(sim.chain.tipIndex)
    c.send(findIntersection([tip]))
    await c.next()
    for (let i = 0; i < 6; i++) c.send(nextBlock)
    expect((await c.next()).result.point).toEqual(tip)
    const forkPoint = sim.chain.pointAt(sim.chain.tipIndex - 3)
    sim.switchFork(3, 4)
    const back = await c.next()
    expect(back.result).toEqual({ direction: "backward", point: forkPoint, tip: sim.chain.tip() })
    for (let i = 0; i < 4; i++) {
      const fwd = await c.next()
      expect(fwd.result.block.id).toBe(sim.chain.idAt(sim.chain.tipIndex - 3 + i))
    }
  })

  it("enforces the immutable tip rule (no rollback deeper than k below the highest tip)", async () => {
    const sim = await start({ securityParameter: 10, initialBlocks: 30 })
    expect(() => sim.rollback(11)).toThrow(/immutable/)
    sim.rollback(4)
    expect(sim.chain.maxRollbackDepth()).toBe(6)
    expect(() => sim.rollback(7)).toThrow(/immutable/)
    sim.forge(2)
    expect(sim.chain.maxRollbackDepth()).toBe(8)
  })
})

describe("envelopes", () => {
  it("echoes ids verbatim (objects, numbers, strings, null) and null when absent", async () => {
    const sim = await start()
    const c = await open(sim)
    for (const id of [{ requestId: "abc", n: [1, { deep: true }] }, 42, "s", null]) {
      c.send({ jsonrpc: "2.0", method: "queryNetwork/tip", id })
      expect((await c.next()).id).toEqual(id)
    }
    c.send({ jsonrpc: "2.0", method: "queryNetwork/tip" })
    const reply = await c.next()
    expect(reply).toHaveProperty("id", null)
    expect(reply.method).toBe("queryNetwork/tip")
    // integers beyond 2^53 come back digit for digit
    c.sendText(`{"jsonrpc":"2.0","method":"queryNetwork/blockHeight","id":123456789012345678901}`)
    expect(await c.nextText()).toMatch(/"id":123456789012345678901}$/)
  })

  it("answers -32600 without a method for anything unroutable, with Ogmios' messages, checking the method before the envelope", async () => {
    const sim = await start()
    const c = await open(sim)
    const unknown = "Invalid request: unknown method in 'method' (beware names are case-sensitive)."
    const cases: Array<[string, unknown, string | RegExp]> = [
      ["{not json", null, "Invalid request: must be a well-formed JSON object."],
      [`[{"jsonrpc":"2.0","method":"nextBlock"}]`, null, "Invalid request: must be a well-formed JSON object."],
      [`{"jsonrpc":"2.0","method":"nextblock","id":1}`, 1, unknown],
      [`{"jsonrpc":"2.0","method":"queryLedgerState/nope","id":"u"}`, "u", unknown],
      [`{"jsonrpc":"1.0","method":"nextblock","id":"order"}`, "order", unknown],
      [`{"jsonrpc":"2.0","method":"queryNetwork/tip","params":{"x":1},"id":"p"}`, "p", /^Invalid request: .*no parameters\.$/],
      [`{"jsonrpc":"2.0","method":"nextBlock","params":{"x":1},"id":"q"}`, "q", /^Invalid request: .*no parameters\.$/],
      [`{"jsonrpc":"2.0","method":"queryLedgerState/protocolParameters","params":{"x":1},"id":"pp"}`, "pp", /^Invalid request: .*no parameters\.$/],
      [`{"jsonrpc":"2.0","id":"nomethod"}`, "nomethod", "Invalid request: field 'method' must be present and be a string."],
      [`{"jsonrpc":"1.0","method":"nextBlock","id":2}`, 2, "Invalid request: invalid value for field 'jsonrpc': should be '2.0'."],
      [`{"method":"nextBlock","id":"nojsonrpc"}`, "nojsonrpc", "Invalid request: missing required field 'jsonrpc'."],
      [`{"jsonrpc":"2.0","method":"findIntersection","params":{"points":[{"slot":1}]},"id":3}`, 3, /^Invalid request: /],
      [`{"jsonrpc":"2.0","method":"queryNetwork/genesisConfiguration","params":{"era":"mary"},"id":4}`, 4, /^Invalid request: /],
      [`{"jsonrpc":"2.0","method":"queryLedgerState/utxo","params":{"addresses":"addr1"},"id":6}`, 6, /^Invalid request: /]
    ]
    for (const [text, id, message] of cases) {
      c.sendText(text)
      const reply = await c.next()
      expect(Object.keys(reply).sort()).toEqual(["error", "id", "jsonrpc"])
      expect(reply.jsonrpc).toBe("2.0")
      expect(reply.error.code).toBe(-32600)
      if (typeof message === "string") expect(reply.error.message).toBe(message)
      else expect(reply.error.message).toMatch(message)
      expect(reply.id).toEqual(id)
      expect(validateBoth("RpcError", reply)).toEqual([])
    }
    // parameterless queries accept an empty params object
    c.send({ jsonrpc: "2.0", method: "queryLedgerState/epoch", params: {}, id: 5 })
    expect((await c.next()).result).toBe(sim.chain.currentEpoch())
    expect(sim.stats().unrouted).toBe(cases.length)
  })

  it("query parameters a node's decoder rejects answer -32600; valid but unknown ids answer empty", async () => {
    const sim = await start()
    const c = await open(sim)
    // an enterprise address (header 0x60, testnet) of a key hash no output pays
    const unknownAddress = bech32.encode("addr_test", bech32.toWords(Buffer.concat([Uint8Array.of(0x60), Buffer.alloc(28, 7)])), false)
    const ask = async (method: string, params?: unknown) => {
      c.send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id: method })
      return c.next()
    }
    for (const [method, params] of [
      ["queryLedgerState/utxo", { addresses: ["notanaddress"] }],
      ["queryLedgerState/utxo", { address: [unknownAddress] }],
      ["queryLedgerState/stakePools", { stakePools: [{ id: "pool1xyz" }] }],
      ["queryLedgerState/rewardAccountSummaries", { keys: ["zz"] }]
    ] as const) {
      const reply = await ask(method, params)
      expect(reply, method).toMatchObject({ jsonrpc: "2.0", error: { code: -32600 }, id: method })
      expect(reply.error.message).toMatch(/^Invalid request: /)
      expect(reply).not.toHaveProperty("method")
    }
    expect((await ask("queryLedgerState/stakePools", { stakePools: [{ id: "00".repeat(28) }] })).result).toEqual({})
    expect((await ask("queryLedgerState/utxo", { addresses: [unknownAddress] })).result).toEqual([])
    expect((await ask("queryLedgerState/rewardAccountSummaries", { keys: ["00".repeat(28)] })).result).toEqual([])
    // without a filter a node is asked for no credential at all
    expect((await ask("queryLedgerState/rewardAccountSummaries")).result).toEqual([])
  })

  it("what docs/simulator.md lists as not served: submission, evaluation, mempool, dump answer -32600; HTTP POST 404", async () => {
    const sim = await start()
    const c = await open(sim)
    for (const method of ["submitTransaction", "evaluateTransaction", "acquireMempool", "nextTransaction", "hasTransaction", "sizeOfMempool", "releaseMempool", "queryLedgerState/dump"]) {
      c.send({ jsonrpc: "2.0", method, params: method.endsWith("Transaction") && method !== "nextTransaction" ? { transaction: { cbor: "00" } } : undefined, id: method })
      const reply = await c.next()
      expect(reply, method).toMatchObject({ error: { code: -32600, message: expect.stringContaining("unknown method") }, id: method })
    }
    const post = await fetch(sim.httpUrl + "/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", method: "queryNetwork/tip", id: 1 }) })
    expect(post.status).toBe(404)
  })

  it("errors of a routed request carry its method, as Ogmios' do", async () => {
    const sim = await start({ era: "babbage" })
    const c = await open(sim)
    c.send({ jsonrpc: "2.0", method: "queryLedgerState/constitution", id: "era" })
    expect(await c.next()).toEqual({
      jsonrpc: "2.0",
      method: "queryLedgerState/constitution",
      error: { code: 2002, message: "Query unavailable in the current era." },
      id: "era"
    })
  })

  it("queries agree with the chain served", async () => {
    const sim = await start({ epochLength: 100 })
    const c = await open(sim)
    const ask = async (method: string, params?: unknown) => {
      c.send({ jsonrpc: "2.0", method, ...(params ? { params } : {}), id: method })
      const reply = await c.next()
      expect(reply.method).toBe(method)
      return reply.result
    }
    const tip = sim.chain.tip() as { slot: number; id: string; height: number }
    expect(await ask("queryNetwork/tip")).toEqual({ slot: tip.slot, id: tip.id })
    expect(await ask("queryLedgerState/tip")).toEqual({ slot: tip.slot, id: tip.id })
    expect(await ask("queryNetwork/blockHeight")).toBe(tip.height)
    expect(await ask("queryLedgerState/epoch")).toBe(Math.floor(tip.slot / 100))
    expect(await ask("queryNetwork/startTime")).toBe(sim.chain.network.systemStart.toISOString().replace(/\.000Z$/, "Z"))
    const summaries = await ask("queryLedgerState/eraSummaries")
    expect(summaries.map((s: any) => s.start.epoch)).toEqual([0, 0, 0, 0, 0, 0, 0])
    expect(summaries.at(-1).end.slot).toBeGreaterThan(tip.slot)
    const genesis = await ask("queryNetwork/genesisConfiguration", { era: "shelley" })
    expect(genesis).toMatchObject({ era: "shelley", epochLength: 100, securityParameter: 100, activeSlotsCoefficient: "1/10", networkMagic: 42 })
  })
})

describe("faults and lifecycle", () => {
  it("drops a connection after N frames", async () => {
    const sim = await start()
    const c = await open(sim)
    sim.faults.dropAfter(3)
    for (let i = 0; i < 10; i++) c.send(nextBlock)
    for (let i = 0; i < 3; i++) await c.next()
    expect(await c.closed).toBe(1006)
    // the rule was one-shot: a new connection is not dropped
    const d = await open(sim)
    for (let i = 0; i < 5; i++) d.send(nextBlock)
    for (let i = 0; i < 5; i++) await d.next()
  })

  it("delays replies and sends malformed frames on demand", async () => {
    const sim = await start()
    const c = await open(sim)
    sim.faults.delay(200)
    const t0 = Date.now()
    c.send({ jsonrpc: "2.0", method: "queryNetwork/tip" })
    await c.next()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190)
    sim.faults.clear()
    expect(sim.faults.sendMalformed()).toBe(1)
    const text = await c.nextText()
    expect(() => JSON.parse(text)).toThrow()
  })

  it("restarts on the same port with the same chain; cursors are lost", async () => {
    const sim = await start()
    const c = await open(sim)
    c.send(nextBlock)
    await c.next()
    const tip = sim.chain.tip()
    const block7 = sim.chain.blockBuffer(7).toString()
    const port = sim.server.port
    await sim.restart({ downMs: 50 })
    expect(sim.server.port).toBe(port)
    expect(await c.closed).toBe(1006)
    const d = await open(sim)
    d.send({ jsonrpc: "2.0", method: "queryNetwork/tip" })
    expect((await d.next()).result).toEqual({ slot: (tip as any).slot, id: (tip as any).id })
    d.send(findIntersection([sim.chain.pointAt(6)]))
    await d.next()
    d.send(nextBlock)
    d.send(nextBlock)
    await d.next()
    expect(JSON.stringify((await d.next()).result.block)).toBe(JSON.stringify(JSON.parse(block7)))
  })

  it("serves /health with the full body", async () => {
    const sim = await start()
    const res = await fetch(`${sim.httpUrl}/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get("access-control-allow-origin")).toBe("*")
    const text = await res.text()
    expect(text).toMatch(/"networkSynchronization":1\.00000,/)
    const body = JSON.parse(text)
    const tip = sim.chain.tip() as { slot: number }
    expect(body).toMatchObject({
      lastKnownTip: sim.chain.tip(),
      connectionStatus: "connected",
      currentEra: "conway",
      currentEpoch: sim.chain.currentEpoch(),
      slotInEpoch: tip.slot - sim.chain.network.epochStartSlot(sim.chain.currentEpoch()),
      version: "v6.14.0 (simulator)",
      network: "unknown (42)"
    })
    expect(typeof body.lastTipUpdate).toBe("string")
    expect(body.metrics).toMatchObject({ activeConnections: 0, totalConnections: 0, totalMessages: 0, totalUnrouted: 0 })
    expect((await fetch(`${sim.httpUrl}/nope`)).status).toBe(404)
  })
})
