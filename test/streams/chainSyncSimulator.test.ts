// chainSync$ and the Ogmios service against the colleague's chain simulator (src/simulator):
// a second, independent implementation of the server side of the protocol.
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import type { ReconnectInfo } from "../../src/ogmios/follower.js"
import { Ogmios } from "../../src/services/Ogmios.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { chainSync$ } from "../../src/streams/chainSync.js"
import { consume, sleep, waitFor } from "../ogmios/support/consumer.js"

let sims: Array<SimulatorHandle> = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.stop()))
  sims = []
})

const canonicalIds = (sim: SimulatorHandle) => Array.from({ length: sim.chain.tipIndex + 1 }, (_, i) => sim.chain.idAt(i))

describe("chainSync$ against the simulator", () => {
  it("follows live forks across repeated connection drops: the delivered chain equals the simulator's", async () => {
    const sim = await startSimulator({ port: 0, initialBlocks: 400, meanBlockBytes: 2048, seed: "chainsync-it", forkRate: 0.3, maxRollback: 5 })
    sims.push(sim)
    sim.faults.dropAfter(120, { repeat: true })
    const reconnects: Array<ReconnectInfo> = []
    const source = chainSync$({
      endpoints: [sim.url], points: ["origin"], inFlight: 20,
      reconnect: { initialDelay: 10, maxDelay: 50 }, onReconnect: (r) => reconnects.push(r)
    })
    const c = consume(source)
    try {
      await waitFor(() => c.model.blocks.length >= 400, 20_000, "initial sync")
      // live production with frequent forks while connections keep dropping
      sim.live.start(15)
      const forksBefore = sim.stats().liveForks
      await waitFor(() => sim.stats().liveForks - forksBefore >= 5, 20_000, "5 live forks")
      sim.live.stop()
      sim.faults.clear()
      const tip = sim.chain.tip()
      await waitFor(() => tip !== "origin" && c.model.ids.at(-1) === tip.id, 10_000, "caught up with the tip")
      await sleep(50)
      expect(c.error).toBeUndefined()
      expect(reconnects.length).toBeGreaterThanOrEqual(3)
      expect(c.model.violations).toEqual([])
      expect(c.model.ids).toEqual(canonicalIds(sim))
    } finally {
      c.sub.unsubscribe()
    }
  })

  it("queries decode against the simulator's answers", async () => {
    const sim = await startSimulator({ port: 0, network: "mainnet-shaped", epochs: { from: 507, to: 507 }, meanBlockBytes: 1024 })
    sims.push(sim)
    const out = await Effect.runPromise(Ogmios.use((o) => Effect.all({
      genesis: o.queryNetworkGenesisConfiguration("shelley"),
      eras: o.queryLedgerStateEraSummaries(),
      epoch: o.queryLedgerStateEpoch(),
      tip: o.queryNetworkTip(),
      ledgerTip: o.queryLedgerStateTip(),
      height: o.queryNetworkBlockHeight(),
      start: o.queryNetworkStartTime()
    })).pipe(Effect.provide(OgmiosLive.layer({ endpoints: [sim.url] }))))
    expect(out.genesis).toMatchObject({ era: "shelley", networkMagic: 764824073, epochLength: 432000, securityParameter: 2160, activeSlotsCoefficient: "1/20", slotLength: { milliseconds: 1000 } })
    expect(out.start).toBe("2017-09-23T21:44:51Z")
    expect(out.eras[1]!.start).toEqual({ time: { seconds: 89856000 }, slot: 4492800, epoch: 208 })
    expect(out.epoch).toBeGreaterThanOrEqual(507)
    const tip = sim.chain.tip()
    expect(out.tip).toEqual(tip === "origin" ? "origin" : { slot: tip.slot, id: tip.id })
    expect(out.height).toBe(tip === "origin" ? "origin" : tip.height)
  })
})
