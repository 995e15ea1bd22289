/**
 * Ledger-state queries as a node answers them: acquire/release (queries inside an acquired state
 * answer for that point while the chain moves on), acquire failures, genesis reads releasing the
 * state, and a ledger still in Byron answering Shelley-based queries with 2002. Every reply is
 * also checked against the official schemas.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"
import { connect, type RawClient } from "./raw-client.js"
import { validateBoth } from "./schemas.js"

const RESPONSE: Record<string, string> = {
  acquireLedgerState: "AcquireLedgerStateResponse",
  releaseLedgerState: "ReleaseLedgerStateResponse",
  "queryNetwork/tip": "QueryNetworkTipResponse",
  "queryNetwork/blockHeight": "QueryNetworkBlockHeightResponse",
  "queryNetwork/genesisConfiguration": "QueryNetworkGenesisConfigurationResponse",
  "queryLedgerState/tip": "QueryLedgerStateTipResponse",
  "queryLedgerState/epoch": "QueryLedgerStateEpochResponse",
  "queryLedgerState/eraSummaries": "QueryLedgerStateEraSummariesResponse"
}

const sims: Array<SimulatorHandle> = []
afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop()
})

const start = async (options: SimulatorOptions) => {
  const sim = await startSimulator({ port: 0, meanBlockBytes: 2000, ...options })
  sims.push(sim)
  return { sim, c: await connect(sim.url) }
}

/** Sends a request and returns the reply, after checking it against both schema versions. */
const ask = async (c: RawClient, method: string, params?: unknown) => {
  c.send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id: method })
  const reply = await c.next()
  expect(validateBoth(RESPONSE[method]!, reply)).toEqual([])
  expect(reply.method).toBe(method)
  return reply as { result?: any; error?: { code: number; message: string; data?: unknown } }
}

describe("acquireLedgerState / releaseLedgerState", () => {
  it("queries inside an acquired state answer for that point while the tip moves on", async () => {
    const { sim, c } = await start({ seed: "acquire", initialBlocks: 500, epochLength: 100, securityParameter: 100 })
    const index = sim.chain.tipIndex - 50
    const point = sim.chain.pointAt(index) as { slot: number; id: string }
    const height = sim.chain.heightOf(index)
    expect((await ask(c, "acquireLedgerState", { point })).result).toEqual({ acquired: "ledgerState", point })
    sim.forge(30) // the chain moves on: the acquired state does not
    const tip = sim.chain.tip() as { slot: number; id: string; height: number }
    expect((await ask(c, "queryNetwork/tip")).result).toEqual(point)
    expect((await ask(c, "queryLedgerState/tip")).result).toEqual(point)
    expect((await ask(c, "queryNetwork/blockHeight")).result).toBe(height)
    expect((await ask(c, "queryLedgerState/epoch")).result).toBe(Math.floor(point.slot / 100))
    expect((await ask(c, "queryLedgerState/eraSummaries")).result).toEqual(sim.chain.network.eraSummaries(point.slot))
    // another connection (no acquired state) sees the volatile tip
    const other = await connect(sim.url)
    expect((await ask(other, "queryNetwork/tip")).result).toEqual({ slot: tip.slot, id: tip.id })
    expect((await ask(other, "queryLedgerState/epoch")).result).toBe(Math.floor(tip.slot / 100))
    other.close()
    // re-acquiring moves the state; releasing returns to the tip
    const later = sim.chain.pointAt(sim.chain.tipIndex - 10)
    expect((await ask(c, "acquireLedgerState", { point: later })).result).toEqual({ acquired: "ledgerState", point: later })
    expect((await ask(c, "queryLedgerState/tip")).result).toEqual(later)
    expect((await ask(c, "releaseLedgerState")).result).toEqual({ released: "ledgerState" })
    expect((await ask(c, "queryLedgerState/tip")).result).toEqual({ slot: tip.slot, id: tip.id })
    expect((await ask(c, "queryNetwork/blockHeight")).result).toBe(tip.height)
    c.close()
  })

  it("fails with 2000 on unknown and too old points; a genesis read releases the state", async () => {
    const { sim, c } = await start({ seed: "acquire-fail", initialBlocks: 300, securityParameter: 100 })
    const unknown = await ask(c, "acquireLedgerState", { point: { slot: 5, id: "ab".repeat(32) } })
    expect(unknown.error).toEqual({ code: 2000, message: "Failed to acquire requested point.", data: "Target doesn't or no longer exist." })
    const tooOld = await ask(c, "acquireLedgerState", { point: sim.chain.pointAt(sim.chain.tipIndex - 101) })
    expect(tooOld.error).toEqual({ code: 2000, message: "Failed to acquire requested point.", data: "Target point is too old." })
    const oldest = sim.chain.pointAt(sim.chain.tipIndex - 100)
    expect((await ask(c, "acquireLedgerState", { point: oldest })).result).toEqual({ acquired: "ledgerState", point: oldest })
    // a block rolled back by a fork is no longer there to acquire
    const forked = sim.chain.pointAt(sim.chain.tipIndex)
    sim.switchFork(1, 2)
    expect((await ask(c, "acquireLedgerState", { point: forked })).error?.data).toBe("Target doesn't or no longer exist.")
    // a failed re-acquire leaves no state acquired (MsgFailure returns the client to StIdle): the tip answers
    expect((await ask(c, "queryLedgerState/tip")).result).toEqual(sim.chain.pointAt(sim.chain.tipIndex))
    const recent = sim.chain.pointAt(sim.chain.tipIndex - 5)
    expect((await ask(c, "acquireLedgerState", { point: recent })).result).toEqual({ acquired: "ledgerState", point: recent })
    expect((await ask(c, "queryNetwork/genesisConfiguration", { era: "shelley" })).result.era).toBe("shelley")
    expect((await ask(c, "queryLedgerState/tip")).result).toEqual(sim.chain.pointAt(sim.chain.tipIndex))
    c.send({ jsonrpc: "2.0", method: "acquireLedgerState", params: { point: "tip" }, id: 1 })
    expect((await c.next()).error.code).toBe(-32600)
    c.close()
  })
})

describe("a ledger in Byron", () => {
  const unavailable = { code: 2002, message: "Query unavailable in the current era." }

  it("custom byron network: Shelley-based queries answer 2002, network queries and era summaries work", async () => {
    const { sim, c } = await start({ era: "byron", seed: "byron-queries", initialBlocks: 200, epochLength: 300 })
    expect((await ask(c, "queryLedgerState/epoch")).error).toEqual(unavailable)
    expect((await ask(c, "queryLedgerState/tip")).error).toEqual(unavailable)
    const tip = sim.chain.tip() as { slot: number; id: string; height: number }
    expect((await ask(c, "queryNetwork/tip")).result).toEqual({ slot: tip.slot, id: tip.id })
    expect((await ask(c, "queryNetwork/blockHeight")).result).toBe(tip.height)
    expect((await ask(c, "queryLedgerState/eraSummaries")).result).toEqual(sim.chain.eraSummaries())
    // inside an acquired state too
    expect((await ask(c, "acquireLedgerState", { point: sim.chain.pointAt(sim.chain.tipIndex - 3) })).result.acquired).toBe("ledgerState")
    expect((await ask(c, "queryLedgerState/epoch")).error).toEqual(unavailable)
    c.close()
  })

  it("mainnet-shaped from epoch 208: the ledger after the anchor (the last Byron block) is Byron, after the next block Shelley", async () => {
    const { sim, c } = await start({ network: "mainnet-shaped", epochs: { from: 208, to: 208 }, seed: "mainnet-byron-anchor" })
    expect(sim.chain.ledgerEraAt(0)).toBe("byron")
    expect(sim.chain.ledgerEraAt(1)).toBe("shelley")
    expect((await ask(c, "queryLedgerState/epoch")).result).toBe(209)
    // the anchor is 21,000 blocks below the tip: far beyond the k = 2160 states a node keeps
    expect((await ask(c, "acquireLedgerState", { point: sim.chain.pointAt(0) })).error?.data).toBe("Target point is too old.")
    c.close()
  })
})
