/**
 * cardano-js-sdk's `OgmiosObservableCardanoNode` (its Ogmios-backed node, as projectors and wallets
 * use it) against a running simulator: `eraSummaries$` (era summaries + the Byron genesis start),
 * `genesisParameters$` (the Shelley genesis) and `systemStart$` on each network kind, and its
 * chain sync from origin through live forks, ending on exactly the canonical chain.
 */
import { Cardano, createSlotTimeCalc } from "@cardano-sdk/core"
import { OgmiosCardanoNode, OgmiosObservableCardanoNode } from "@cardano-sdk/ogmios"
import { ChainSyncEventType, type ChainSyncEvent } from "@cardano-sdk/projection"
import { firstValueFrom, of, type Subscription, switchMap } from "rxjs"
import { afterEach, describe, expect, it } from "vitest"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, trace: () => {}, fatal: () => {}, child: () => silent }

let sim: SimulatorHandle | undefined
let subscription: Subscription | undefined
afterEach(async () => {
  subscription?.unsubscribe()
  subscription = undefined
  await sim?.stop()
  sim = undefined
})

const nodeFor = (s: SimulatorHandle) =>
  new OgmiosObservableCardanoNode({ connectionConfig$: of({ host: "127.0.0.1", port: s.port }) }, { logger: silent as never })

describe("cardano-js-sdk OgmiosObservableCardanoNode / OgmiosCardanoNode queries", () => {
  const networks: ReadonlyArray<[string, SimulatorOptions]> = [
    ["custom conway", { era: "conway", initialBlocks: 300 }],
    ["custom byron", { era: "byron", initialBlocks: 300, epochLength: 500 }],
    ["mainnet-shaped 507", { network: "mainnet-shaped", epochs: { from: 507, to: 507 }, meanBlockBytes: 2000 }]
  ]
  for (const [label, options] of networks) {
    it(`eraSummaries$, genesisParameters$, systemStart$ on ${label}`, async () => {
      sim = await startSimulator({ port: 0, seed: `sdk-node-${label}`, ...options })
      const node = nodeFor(sim)
      const [eraSummaries, genesis, systemStart] = await Promise.all([
        firstValueFrom(node.eraSummaries$),
        firstValueFrom(node.genesisParameters$),
        firstValueFrom(node.systemStart$)
      ])
      const network = sim.chain.network
      expect(systemStart.getTime()).toBe(network.systemStart.getTime())
      expect(eraSummaries).toHaveLength(sim.chain.eraSummaries().length)
      // the SDK's slot -> time conversion agrees with the simulator's clock at every block
      const slotTime = createSlotTimeCalc(eraSummaries)
      for (let i = 0; i <= sim.chain.tipIndex; i += Math.max(1, Math.floor(sim.chain.length / 50))) {
        const slot = sim.chain.slotAt(i)
        expect(slotTime(Cardano.Slot(slot)).getTime()).toBe(network.slotToUnixMs(slot))
      }
      expect(genesis.networkMagic).toBe(network.networkMagic)
      expect(genesis.networkId).toBe(network.name === "mainnet" ? Cardano.NetworkId.Mainnet : Cardano.NetworkId.Testnet)
      expect(genesis.systemStart.getTime()).toBe(network.systemStart.getTime())
      expect(genesis.epochLength).toBe(network.epochLength)
      expect(genesis.securityParameter).toBe(network.securityParameter)
      expect(genesis.activeSlotsCoefficient).toBe(network.activeSlotsCoefficient)
      // the promise API on top of it: the same summaries and start; /health as the SDK reads it
      const cardanoNode = new OgmiosCardanoNode(node, silent as never)
      await cardanoNode.initialize()
      await cardanoNode.start()
      try {
        expect(await cardanoNode.eraSummaries()).toEqual(eraSummaries)
        expect((await cardanoNode.systemStart()).getTime()).toBe(network.systemStart.getTime())
        const health = await cardanoNode.healthCheck()
        const tip = sim.chain.tip() as { slot: number; id: string; height: number }
        expect(health.localNode?.ledgerTip).toEqual({ blockNo: tip.height, hash: tip.id, slot: tip.slot })
        // a custom network's tip is "now" (synchronised); mainnet-shaped epochs lie in the past
        expect(health.ok).toBe(network.kind === "custom")
      } finally {
        await cardanoNode.shutdown()
      }
    })
  }
})

it("cardano-js-sdk chain sync follows live forks from origin to exactly the canonical chain", async () => {
  sim = await startSimulator({
    port: 0,
    seed: "sdk-chain-sync",
    initialBlocks: 1_500,
    meanBlockBytes: 3_000,
    securityParameter: 50,
    forkRate: 0.3,
    maxRollback: 8,
    rollbackDistribution: "uniform"
  })
  const s = sim
  const node = nodeFor(s)
  const view: Array<{ slot: number; id: string }> = []
  let forwards = 0
  let backwards = 0
  let brokenLinks = 0
  let failure: unknown
  subscription = node
    .findIntersect(["origin"])
    .pipe(switchMap(({ chainSync$ }) => chainSync$))
    .subscribe({
      next: (event: ChainSyncEvent) => {
        if (event.eventType === ChainSyncEventType.RollForward) {
          const last = view.at(-1)
          if (last && event.block.header.blockNo > 0 && event.block.previousBlock !== last.id) brokenLinks++
          view.push({ slot: event.block.header.slot, id: event.block.header.hash })
          forwards++
        } else {
          backwards++
          const point = event.point
          view.length = point === "origin" ? 0 : view.findIndex((p) => p.id === point.hash) + 1
        }
        event.requestNext()
      },
      error: (error) => {
        failure = error
      }
    })
  const atTip = () => {
    const tip = s.chain.tip()
    return tip !== "origin" && view.at(-1)?.id === tip.id
  }
  const waitUntil = async (done: () => boolean, ms: number) => {
    const deadline = Date.now() + ms
    while (!done() && failure === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }
  await waitUntil(atTip, 60_000)
  expect(view).toEqual(s.chain.canonicalPoints())
  // then follow live production at the tip (the SDK maps every block: ~30 ms per block leaves it
  // time to keep up on a busy machine) until it has seen forks
  s.live.start(30)
  await waitUntil(() => backwards > 6, 40_000)
  s.live.stop()
  await waitUntil(atTip, 20_000)
  expect(failure).toBeUndefined()
  const stats = s.stats()
  expect(stats.liveForks).toBeGreaterThan(5)
  expect(backwards).toBeGreaterThan(5)
  expect(forwards).toBeGreaterThan(1_500)
  expect(brokenLinks).toBe(0)
  expect(view).toEqual(s.chain.canonicalPoints())
  console.log(`cardano-js-sdk chain sync: ${forwards} forwards, ${backwards} backwards, ${stats.liveForks} live forks, final length ${view.length}`)
}, 120_000)
