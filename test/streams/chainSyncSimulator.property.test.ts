// Property: whatever the simulator seed, fork rate, connection-drop frequency and credit window,
// following the simulator (live forks, repeated drops) and folding the delivered RollForward /
// RollBackward events gives exactly the simulator's canonical chain once production stops.
// Both forms of the source: chainSync$ (RxJS) and Ogmios.chainSync (Effect Stream via OgmiosLive).
// Each run starts a real simulator server on an ephemeral port, so runs are few and seeded.
import { Effect, Fiber, Stream } from "effect"
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { Ogmios } from "../../src/services/Ogmios.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { chainSync$ } from "../../src/streams/chainSync.js"
import { consume, ModelChain, sleep, waitFor } from "../ogmios/support/consumer.js"

const NUM_RUNS = 12

let sims: Array<SimulatorHandle> = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.stop()))
  sims = []
})

interface Case {
  readonly seed: number
  readonly initialBlocks: number
  readonly forkRate: number
  readonly maxRollback: number
  /** frames per connection before the simulator drops it (repeating) */
  readonly dropAfter: number
  readonly inFlight: number
  /** blocks the live producer makes (at least) before it is stopped */
  readonly liveBlocks: number
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  initialBlocks: fc.integer({ min: 0, max: 150 }),
  forkRate: fc.double({ min: 0.1, max: 0.6, noNaN: true }),
  maxRollback: fc.integer({ min: 1, max: 8 }),
  dropAfter: fc.integer({ min: 6, max: 120 }),
  inFlight: fc.integer({ min: 1, max: 40 }),
  liveBlocks: fc.integer({ min: 10, max: 60 })
})

const canonicalIds = (sim: SimulatorHandle) => Array.from({ length: sim.chain.tipIndex + 1 }, (_, i) => sim.chain.idAt(i))

const start = async (c: Case) => {
  const sim = await startSimulator({
    port: 0,
    seed: `prop-${c.seed}`,
    initialBlocks: c.initialBlocks,
    meanBlockBytes: 600,
    securityParameter: 20,
    forkRate: c.forkRate,
    maxRollback: c.maxRollback
  })
  sims.push(sim)
  sim.faults.dropAfter(c.dropAfter, { repeat: true })
  return sim
}

/** Live production (forks included) while the follower runs, then stop and wait for the fold to reach the tip. */
const produceThenSettle = async (sim: SimulatorHandle, c: Case, model: ModelChain, failed: () => unknown) => {
  sim.live.start(4)
  await waitFor(() => sim.stats().liveProduced >= c.liveBlocks || failed() !== undefined, 20_000, "live production")
  sim.live.stop()
  const tip = sim.chain.tip()
  const tipId = tip === "origin" ? undefined : tip.id
  await waitFor(() => model.ids.at(-1) === tipId || failed() !== undefined, 20_000, `caught up with the tip (case ${JSON.stringify(c)})`)
  // drops keep happening: a reconnect after catching up must not change the folded chain
  await sleep(20)
}

const params = { numRuns: NUM_RUNS, seed: 0x5eed, endOnFailure: true } as const

describe(`following the simulator through live forks and drops (${NUM_RUNS} runs each)`, () => {
  it("chainSync$: the folded chain equals the canonical chain", async () => {
    let forks = 0
    let reconnects = 0
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const sim = await start(c)
        let seen = 0
        const source = chainSync$({
          endpoints: [sim.url],
          points: ["origin"],
          inFlight: c.inFlight,
          reconnect: { initialDelay: 2, maxDelay: 20 },
          onReconnect: () => seen++
        })
        const consumer = consume(source)
        try {
          await produceThenSettle(sim, c, consumer.model, () => consumer.error)
          expect(consumer.error).toBeUndefined()
          expect(consumer.model.violations).toEqual([])
          expect(consumer.model.ids).toEqual(canonicalIds(sim))
          forks += sim.stats().liveForks
          reconnects += seen
        } finally {
          consumer.sub.unsubscribe()
          await sim.stop()
        }
      }),
      params
    )
    console.log(`chainSync$: ${NUM_RUNS} runs, ${forks} live forks, ${reconnects} reconnects`)
    // the generated cases did exercise what they claim to
    expect(forks).toBeGreaterThan(NUM_RUNS)
    expect(reconnects).toBeGreaterThan(NUM_RUNS)
  }, 120_000)

  it("Ogmios.chainSync (Effect Stream, OgmiosLive): the folded chain equals the canonical chain", async () => {
    let forks = 0
    let reconnects = 0
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const sim = await start(c)
        const model = new ModelChain()
        let error: unknown
        let seen = 0
        const fiber = Effect.runFork(
          Ogmios.use((o) => Stream.runForEach(o.chainSync(["origin"], { inFlight: c.inFlight }), (event) => Effect.sync(() => model.apply(event)))).pipe(
            Effect.tapCause((cause) => Effect.sync(() => (error = cause))),
            Effect.provide(OgmiosLive.layer({ endpoints: [sim.url], reconnect: { initialDelay: 2, maxDelay: 20 }, onReconnect: () => seen++ }))
          )
        )
        try {
          await produceThenSettle(sim, c, model, () => error)
          expect(error).toBeUndefined()
          expect(model.violations).toEqual([])
          expect(model.ids).toEqual(canonicalIds(sim))
          forks += sim.stats().liveForks
          reconnects += seen
        } finally {
          await Effect.runPromise(Fiber.interrupt(fiber))
          await sim.stop()
        }
      }),
      params
    )
    console.log(`Ogmios.chainSync: ${NUM_RUNS} runs, ${forks} live forks, ${reconnects} reconnects`)
    expect(forks).toBeGreaterThan(NUM_RUNS)
    expect(reconnects).toBeGreaterThan(NUM_RUNS)
  }, 120_000)
})
