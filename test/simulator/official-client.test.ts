/**
 * The official @cardano-ogmios/client 6.14 against the simulator: /health gate, intersection,
 * a long sync with live forks, and the end state equal to the simulator's canonical chain.
 */
import { createChainSynchronizationClient, createInteractionContext } from "@cardano-ogmios/client"
import { afterEach, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"

let sim: SimulatorHandle | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

it("syncs 12,000 blocks through live forks and ends on exactly the canonical chain", async () => {
  sim = await startSimulator({
    port: 0,
    seed: "official-client",
    initialBlocks: 12_000,
    meanBlockBytes: 3_000,
    securityParameter: 50,
    blockIntervalMs: 15,
    forkRate: 0.3,
    maxRollback: 8,
    rollbackDistribution: "uniform"
  })
  const s = sim
  const context = await createInteractionContext(
    (error) => {
      throw error
    },
    () => {},
    { connection: { host: "127.0.0.1", port: s.port } }
  )
  const view: Array<{ slot: number; id: string }> = []
  let forwards = 0
  let backwards = 0
  let brokenLinks = 0
  const client = await createChainSynchronizationClient(context, {
    rollForward: async ({ block }, requestNextBlock) => {
      const b = block as { id: string; slot: number; ancestor: string }
      const last = view.at(-1)
      if (last && b.ancestor !== last.id) brokenLinks++
      view.push({ slot: b.slot, id: b.id })
      forwards++
      requestNextBlock()
    },
    rollBackward: async ({ point }, requestNextBlock) => {
      backwards++
      if (point === "origin") view.length = 0
      else view.length = view.findIndex((p) => p.id === point.id) + 1
      requestNextBlock()
    }
  })
  const intersection = await client.resume(["origin"], 100)
  expect(intersection.intersection).toBe("origin")

  // let it follow live production (with forks) for a while after catching up
  const caughtUp = Date.now()
  while (view.length < 12_000 && Date.now() - caughtUp < 60_000) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, 1_500))
  s.live.stop()
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const tip = s.chain.tip()
    if (tip !== "origin" && view.at(-1)?.id === tip.id) break
    await new Promise((r) => setTimeout(r, 50))
  }
  await client.shutdown()

  const stats = s.stats()
  expect(stats.liveForks).toBeGreaterThan(5)
  expect(backwards).toBeGreaterThan(5) // 1 for the intersection + one per fork seen while following
  expect(forwards).toBeGreaterThanOrEqual(12_000)
  expect(brokenLinks).toBe(0)
  expect(view.length).toBe(s.chain.length)
  expect(view).toEqual(s.chain.canonicalPoints())
  console.log(`official client: ${forwards} forwards, ${backwards} backwards, ${stats.liveForks} live forks, final length ${view.length}`)
}, 120_000)
