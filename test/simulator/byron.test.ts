/**
 * A custom Byron network: the genesis EBB, bft blocks, an EBB opening every later epoch, EBB
 * points at epoch x epochLength, and followers (ours and the official client) syncing through them.
 */
import { createChainSynchronizationClient, createInteractionContext } from "@cardano-ogmios/client"
import { afterEach, describe, expect, it } from "vitest"
import type { ChainSyncEvent } from "../../src/domain/chain-event.js"
import { Chain } from "../../src/simulator/chain.js"
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "../../src/simulator/index.js"
import { chainSync$ } from "../../src/streams/chainSync.js"
import { blockPoint } from "../../src/domain/block.js"
import { ResumePoints } from "../../src/ogmios/resumePoints.js"
import { finalPoint, initialState, stepOrThrow } from "../../src/streams/reorg.js"
import { connect, findIntersection, nextBlock, type RawClient } from "./raw-client.js"

const running: Array<SimulatorHandle> = []
const clients: Array<RawClient> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of running.splice(0)) await s.stop()
})
const start = async (options: SimulatorOptions) => {
  const sim = await startSimulator({ port: 0, era: "byron", meanBlockBytes: 1500, ...options })
  running.push(sim)
  return sim
}

const canonicalIds = (chain: Chain) => Array.from({ length: chain.length }, (_, i) => chain.idAt(i))
const block = (chain: Chain, index: number) => JSON.parse(chain.blockBuffer(index).toString("utf8"))

/** Checks the Byron layout rules on the whole chain; returns the EBB indices. */
const checkLayout = (chain: Chain): Array<number> => {
  const ebbs: Array<number> = []
  const L = chain.network.epochLength
  for (let i = 0; i < chain.length; i++) {
    const b = block(chain, i)
    expect(b.era).toBe("byron")
    expect(b.id).toBe(chain.idAt(i))
    if (i > 0) expect(b.ancestor).toBe(chain.idAt(i - 1))
    expect(chain.find(chain.pointAt(i))).toBe(i)
    if (b.type === "ebb") {
      ebbs.push(i)
      expect(Object.keys(b).sort()).toEqual(["ancestor", "era", "height", "id", "type"])
      if (i === 0) {
        // the genesis EBB: height 0 at slot 0 (epoch 0)
        expect([b.height, chain.slotAt(0)]).toEqual([0, 0])
        continue
      }
      expect(b.height).toBe(block(chain, i - 1).height) // the preceding main block's height
      expect(chain.slotAt(i) % L).toBe(0) // point slot = epoch x epochLength
      expect(chain.network.epochOf(chain.slotAt(i))).toBeGreaterThan(chain.network.epochOf(chain.slotAt(i - 1)))
    } else {
      expect(b.type).toBe("bft")
      expect(b.slot).toBe(chain.slotAt(i))
      expect(i).toBeGreaterThan(0)
      expect(b.height).toBe(block(chain, i - 1).height + 1)
      expect(b.protocol).toEqual({ id: chain.network.networkMagic, version: { major: 1, minor: 0, patch: 0 }, software: { appName: "cardano-sl", number: 1 } })
      expect(b.issuer.verificationKey).toMatch(/^[0-9a-f]{128}$/)
      if (i > 0 && !chain.isEbb(i - 1)) {
        expect(b.slot).toBeGreaterThan(chain.slotAt(i - 1))
        // a main block never opens an epoch: the EBB does
        expect(chain.network.epochOf(b.slot)).toBe(chain.network.epochOf(chain.slotAt(i - 1)))
      }
      if (i > 0 && chain.isEbb(i - 1)) expect(chain.network.epochOf(b.slot)).toBe(chain.network.epochOf(chain.slotAt(i - 1)))
    }
  }
  return ebbs
}

describe("byron custom network", () => {
  it("lays out bft blocks and EBBs; forks across EBBs keep the rules; era summaries are Byron's", () => {
    const chain = new Chain({ era: "byron", seed: "byron-layout", epochLength: 60, activeSlotsCoefficient: 0.25, initialBlocks: 300, meanBlockBytes: 2000, securityParameter: 40 })
    const ebbs = checkLayout(chain)
    expect(ebbs.length).toBeGreaterThan(15)
    expect(ebbs[0]).toBe(0)
    // heights: the genesis EBB is 0, main blocks 1, 2, ...; later EBBs repeat their predecessor's
    expect(chain.heightOf(chain.tipIndex)).toBe(chain.length - ebbs.length)
    expect(chain.tip()).toMatchObject({ height: block(chain, chain.tipIndex).height })
    // some bft blocks carry transactions, some don't
    const txs = Array.from({ length: chain.length }, (_, i) => block(chain, i).transactions?.length ?? 0)
    expect(txs.some((n) => n > 0) && txs.filter((_, i) => !chain.isEbb(i)).some((n) => n === 0)).toBe(true)
    // roll back to just before the last EBB and regrow on a new branch
    const lastEbb = ebbs.at(-1)!
    const oldEbbId = chain.idAt(lastEbb)
    chain.switchFork(chain.tipIndex - lastEbb + 1, 40)
    expect(chain.idAt(lastEbb - 1)).toBe(canonicalIds(chain)[lastEbb - 1])
    expect(chain.find({ slot: chain.network.epochStartSlot(chain.network.epochOf(chain.slotAt(lastEbb - 1)) + 1), id: oldEbbId })).toBeUndefined()
    checkLayout(chain)
    expect(chain.eraSummaries()).toEqual([
      expect.objectContaining({ start: { time: { seconds: 0 }, slot: 0, epoch: 0 }, parameters: { epochLength: 60, slotLength: { milliseconds: 20_000 }, safeZone: 80 } })
    ])
    // defaults: epochs of 10k slots (Byron's rule) of 20 s
    const defaults = new Chain({ era: "byron", initialBlocks: 5 })
    expect([defaults.network.epochLength, defaults.network.slotLengthMs]).toEqual([1000, 20_000])
    const mainnetK = new Chain({ era: "byron", initialBlocks: 5, securityParameter: 2160 })
    expect(mainnetK.network.epochLength).toBe(21_600)
  })

  it("findIntersection accepts an EBB point (epoch x epochLength); the next forward is the block after it", async () => {
    const sim = await start({ seed: "byron-fi", epochLength: 40, activeSlotsCoefficient: 0.3, initialBlocks: 120 })
    const chain = sim.chain
    const ebb = Array.from({ length: chain.length }, (_, i) => i).find((i) => i > 0 && chain.isEbb(i))!
    const point = chain.pointAt(ebb) as { slot: number; id: string }
    expect(point.slot % 40).toBe(0)
    const c = await connect(sim.url)
    clients.push(c)
    c.send(findIntersection([point]))
    expect((await c.next()).result).toEqual({ intersection: point, tip: chain.tip() })
    c.send(nextBlock)
    c.send(nextBlock)
    expect((await c.next()).result).toEqual({ direction: "backward", point, tip: chain.tip() })
    const forward = (await c.next()).result.block
    expect(forward).toMatchObject({ type: "bft", ancestor: point.id, id: chain.idAt(ebb + 1) })
    // the same id with its main-block neighbour's slot is not the EBB's point
    c.send(findIntersection([{ slot: chain.slotAt(ebb - 1), id: point.id }]))
    expect((await c.next()).error.code).toBe(1000)
  })
})

describe("EBB points on a network with its own Byron epoch length", () => {
  // 60-slot epochs: EBB points are multiples of 60, not of mainnet's 21600
  const chain = new Chain({ era: "byron", seed: "byron-points", epochLength: 60, activeSlotsCoefficient: 0.25, initialBlocks: 300, meanBlockBytes: 1500 })
  const blocks = Array.from({ length: chain.length }, (_, i) => block(chain, i))
  const ebbs = blocks.flatMap((b, i) => (b.type === "ebb" ? [i] : []))

  it("blockPoint derives every EBB's point from the previous block's slot and the epoch length", () => {
    expect(ebbs.length).toBeGreaterThan(10)
    for (const i of ebbs) {
      expect(blockPoint(blocks[i], i > 0 ? chain.slotAt(i - 1) : -1, 60)).toEqual(chain.pointAt(i))
      // mainnet's default epoch length gives another slot, which is no point of this chain
      if (i > 0) expect(chain.find(blockPoint(blocks[i], chain.slotAt(i - 1)))).toBeUndefined()
    }
  })

  it("resume points and the reorg operator's final points are points of the chain", () => {
    const window = new ResumePoints({ dense: 1000, byronEpochLength: 60 })
    let state = initialState({ depth: 3, byronEpochLength: 60 })
    for (const [i, b] of blocks.entries()) {
      window.forward(b)
      state = stepOrThrow(state, { _tag: "RollForward", block: b, tip: chain.tip() } as ChainSyncEvent).state
      expect(window.cursor).toEqual(chain.pointAt(i))
      if (i >= 3) expect(finalPoint(state)).toEqual(chain.pointAt(i - 3))
    }
    for (const point of window.points()) expect(point === "origin" || chain.find(point) !== undefined).toBe(true)
  })
})

/** Folds events into ids; records links that do not chain. */
const fold = () => {
  const ids: Array<string> = []
  const broken: Array<string> = []
  let backwards = 0
  let ebbs = 0
  const apply = (event: ChainSyncEvent) => {
    if (event._tag === "RollForward") {
      const b = event.block
      if (ids.length > 0 && b.ancestor !== ids.at(-1)) broken.push(`${b.type} ${b.height}`)
      if (b.type === "ebb") ebbs++
      ids.push(b.id)
    } else {
      backwards++
      if (event.point === "origin") ids.length = 0
      else {
        const at = ids.lastIndexOf(event.point.id)
        if (at < 0) broken.push(`backward to unknown ${event.point.slot}`)
        ids.length = at + 1
      }
    }
  }
  return { ids, broken, apply, stats: () => ({ backwards, ebbs }) }
}

const waitFor = async (cond: () => boolean, ms: number, what: string) => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe("followers through EBBs", () => {
  const followWithChainSync$ = async (options: SimulatorOptions) => {
    const sim = await start({ securityParameter: 30, forkRate: 0.3, maxRollback: 6, ...options })
    sim.faults.dropAfter(37, { repeat: true })
    const f = fold()
    let error: unknown
    let reconnects = 0
    const sub = chainSync$({ endpoints: [sim.url], points: ["origin"], inFlight: 8, autoRequest: true, reconnect: { initialDelay: 2, maxDelay: 20 }, onReconnect: () => reconnects++ })
      .subscribe({ next: f.apply, error: (e) => (error = e) })
    try {
      await waitFor(() => f.ids.length >= sim.chain.length || error !== undefined, 20_000, "initial sync")
      sim.live.start(5)
      await waitFor(() => sim.stats().liveProduced >= 120 || error !== undefined, 20_000, "live production")
      sim.live.stop()
      const tipId = sim.chain.idAt(sim.chain.tipIndex)
      await waitFor(() => f.ids.at(-1) === tipId || error !== undefined, 20_000, "caught up")
      return { sim, f, error, reconnects }
    } finally {
      sub.unsubscribe()
    }
  }

  it("chainSync$ follows a Byron chain (21600-slot epochs) through EBBs, live forks and drops", async () => {
    const { sim, f, error, reconnects } = await followWithChainSync$({ seed: "byron-follow", activeSlotsCoefficient: 0.02, initialBlocks: 1200 })
    expect(error).toBeUndefined()
    expect(f.broken).toEqual([])
    expect(f.ids).toEqual(canonicalIds(sim.chain))
    const ebbCount = canonicalIds(sim.chain).filter((_, i) => sim.chain.isEbb(i)).length
    expect(ebbCount).toBeGreaterThanOrEqual(3)
    expect(f.stats().ebbs).toBeGreaterThanOrEqual(ebbCount)
    expect(reconnects).toBeGreaterThan(5)
    expect(sim.stats().liveForks).toBeGreaterThan(3)
  }, 60_000)

  it("chainSync$ also ends on the canonical chain with 60-slot epochs (EBB points off the 21600 grid)", async () => {
    // src/domain/block.ts derives EBB points on a 21600-slot grid, so with other epoch lengths the
    // follower's resume points for EBBs miss and a reconnect falls back to an older point; the
    // delivered chain must still be the canonical one
    const { sim, f, error } = await followWithChainSync$({ seed: "byron-short", epochLength: 60, activeSlotsCoefficient: 0.25, initialBlocks: 400 })
    expect(error).toBeUndefined()
    expect(f.broken).toEqual([])
    expect(f.ids).toEqual(canonicalIds(sim.chain))
    expect(f.stats().ebbs).toBeGreaterThan(20)
  }, 60_000)

  it("the official client syncs a Byron chain through EBBs and ends on the canonical chain", async () => {
    const sim = await start({ seed: "byron-official", activeSlotsCoefficient: 0.02, initialBlocks: 2200, securityParameter: 30, forkRate: 0.3, maxRollback: 6 })
    const context = await createInteractionContext((e) => { throw e }, () => {}, { connection: { host: "127.0.0.1", port: sim.port } })
    const f = fold()
    const client = await createChainSynchronizationClient(context, {
      rollForward: async ({ block, tip }, next) => {
        f.apply({ _tag: "RollForward", block: block as never, tip: tip as never })
        next()
      },
      rollBackward: async ({ point, tip }, next) => {
        f.apply({ _tag: "RollBackward", point: point as never, tip: tip as never })
        next()
      }
    })
    // resume from an EBB point: the intersection is the EBB
    const ebb = Array.from({ length: sim.chain.length }, (_, i) => i).find((i) => sim.chain.isEbb(i))!
    const ebbPoint = sim.chain.pointAt(ebb) as { slot: number; id: string }
    f.ids.push(...canonicalIds(sim.chain).slice(0, ebb + 1))
    const intersection = await client.resume([ebbPoint], 50)
    expect(intersection.intersection).toEqual(ebbPoint)
    await waitFor(() => f.ids.length >= sim.chain.length, 20_000, "initial sync")
    sim.live.start(5)
    await waitFor(() => sim.stats().liveProduced >= 100, 20_000, "live production")
    sim.live.stop()
    const tipId = sim.chain.idAt(sim.chain.tipIndex)
    await waitFor(() => f.ids.at(-1) === tipId, 20_000, "caught up")
    await client.shutdown()
    expect(f.broken).toEqual([])
    expect(f.ids).toEqual(canonicalIds(sim.chain))
    expect(f.stats().ebbs).toBeGreaterThanOrEqual(3)
    expect(sim.stats().liveForks).toBeGreaterThan(3)
  }, 60_000)
})
