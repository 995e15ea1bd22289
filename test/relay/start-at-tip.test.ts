/**
 * A relay that starts at the tip meets ordinary shallow forks that reach below its start point,
 * live and while it is down. Nothing it published is final yet, so such a rollback must undo what
 * it published and move its start back to the point the node reported; the cursor must always
 * hold points the node can still intersect. Checked in-process and through the built CLI, with a
 * property over random forks and restarts.
 */
import { fc } from "@fast-check/vitest"
import { Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"
import { caughtUp, expectCanonical, relayTestBed, sleep, startRelay, waitFor } from "./harness.js"
import { foldEntries, relayState } from "./support.js"

const bed = relayTestBed({ seed: "relay-tip", securityParameter: 10, initialBlocks: 40, meanBlockBytes: 512, maxRollback: 6 })
const { sim, prefix } = bed

/**
 * The relay contract for a relay that started at the tip: `events` folds to a suffix of the
 * canonical chain ending at its tip, starting right after the cursor's start point while that is
 * provisional, and `final` holds exactly the folded blocks that are `depth` deep.
 */
const expectTipSuffix = async (p: string, s: SimulatorHandle, depth: number, highestTip?: number) => {
  const { events } = await relayState(bed.client, p)
  const chain = foldEntries(events)
  const cursor = await bed.client.hgetall(`${p}cursor`)
  const canonical = s.chain.canonicalPoints()
  const start = canonical.findIndex((point) => point.id === cursor["final_hash"])
  expect(start, `the cursor's point ${cursor["final_hash"]} is on the node's chain`).toBeGreaterThanOrEqual(0)
  const fromHeight = chain[0]?.height ?? s.chain.heightOf(start) + 1
  if (cursor["final_provisional"] === "1") expect(fromHeight).toBe(s.chain.heightOf(start) + 1)
  const { final } = await expectCanonical(bed.client, p, s, fromHeight)
  // a block is final once `depth` blocks were seen on top of it (the tip may have shrunk since)
  const tipHeight = Math.max(highestTip ?? 0, s.chain.heightOf(canonical.length - 1))
  expect(final.length).toBe(chain.filter((b) => b.height <= tipHeight - depth).length)
  return { chain, final, events }
}

describe("a relay started at the tip", () => {
  it("carries on through live rollbacks below its start point, and finalises only blocks depth deep", async () => {
    const s = await sim()
    const p = prefix()
    const relay = startRelay(s, p, { from: "tip" })
    // following: intersected at its start, so the forks below reach it live
    await waitFor("the relay to follow", async () => (await bed.client.hget(`${p}status`, "state")) === "following")
    const start = await bed.client.hget(`${p}cursor`, "final_hash")
    s.switchFork(3, 2) // the start block itself left the chain
    await caughtUp(bed.client, p, s)
    s.forge(1)
    await caughtUp(bed.client, p, s)
    s.switchFork(4, 5) // again below the (moved) start, with published blocks undone
    await caughtUp(bed.client, p, s)
    s.forge(14) // enough for blocks to become final (depth 10)
    await caughtUp(bed.client, p, s)
    expect(relay.fiber.pollUnsafe()).toBeUndefined() // still running
    await relay.stop()
    const { events, final } = await expectTipSuffix(p, s, 10)
    expect(await bed.client.hget(`${p}cursor`, "final_hash")).not.toBe(start)
    expect(events.some((e) => e.type === "undo")).toBe(true)
    expect(final.length).toBeGreaterThan(0)
    expect(Number(await bed.client.hget(`${p}metrics`, "restarts"))).toBe(2)
  })

  it("restarts after the chain forked below its start while it was down (no intersection left)", async () => {
    const s = await sim()
    const p = prefix()
    let relay = startRelay(s, p, { from: "tip" })
    await waitFor("the relay cursor", async () => (await bed.client.exists(`${p}cursor`)) === 1)
    s.forge(2)
    await caughtUp(bed.client, p, s)
    await relay.stop()
    s.switchFork(5, 6) // the start point and both published blocks are gone
    relay = startRelay(s, p, { from: "cursor" })
    await caughtUp(bed.client, p, s)
    s.forge(3)
    await caughtUp(bed.client, p, s)
    expect(relay.fiber.pollUnsafe()).toBeUndefined()
    await relay.stop()
    const { chain, events } = await expectTipSuffix(p, s, 10)
    expect(events.filter((e) => e.type === "undo").map((e) => e.height)).toHaveLength(2)
    expect(chain).toHaveLength(3)
  })

  it("never restarts below a final start point: sync's seam refuses such a rollback", async () => {
    const s = await sim()
    const p = prefix()
    const at = s.chain.length - 5
    const seam = s.chain.canonicalPoints()[at]!
    const relay = startRelay(s, p, { from: seam, fromHeight: s.chain.heightOf(at), fromFinal: true })
    await caughtUp(bed.client, p, s)
    s.switchFork(10, 12) // down to 6 blocks below the seam
    const exit = await Effect.runPromise(Fiber.await(relay.fiber))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("RelayDepthExceeded")
  })

  it("property: random shallow forks and restarts keep the cursor intersectable and the streams exact", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("forge" as const), n: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant("fork" as const), depth: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ op: fc.constant("restart" as const), down: fc.boolean() })
          ),
          { minLength: 3, maxLength: 10 }
        ),
        async (seed, ops) => {
          const s = await sim({ seed: `relay-tip-property-${seed}`, initialBlocks: 20, securityParameter: 6 })
          const p = prefix()
          let relay = startRelay(s, p, { from: "tip", depth: 6 })
          await waitFor("the relay cursor", async () => (await bed.client.exists(`${p}cursor`)) === 1)
          let highest = 0
          for (const op of ops) {
            if (op.op === "forge") s.forge(op.n)
            else if (op.op === "fork") s.switchFork(op.depth, op.n)
            else {
              await relay.stop()
              // a fork while the relay is down
              if (op.down) s.switchFork(3, 2)
              relay = startRelay(s, p, { from: "cursor", depth: 6 })
            }
            await caughtUp(bed.client, p, s)
            highest = Math.max(highest, s.chain.heightOf(s.chain.length - 1))
          }
          expect(relay.fiber.pollUnsafe()).toBeUndefined()
          await relay.stop()
          await expectTipSuffix(p, s, 6, highest)
          await s.stop()
        }
      ),
      { numRuns: 30, seed: 12 }
    )
  })
})

describe("relay --from tip (built CLI)", () => {
  it("keeps relaying through rollbacks below its start, live and while it was down, then through live forks", async () => {
    const s = await sim({ seed: "relay-tip-cli", securityParameter: 20, maxRollback: 3, forkRate: 0.3, initialBlocks: 300, epochLength: 500 })
    const p = prefix()
    const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
    const args = ["relay", "--endpoint", s.url, "--redis-prefix", p, "--no-refresh"]
    /** Runs the relay CLI through `script`, then stops it as a supervisor would (SIGTERM). */
    const relayWhile = async (from: string, script: () => Promise<void>) => {
      let failure: unknown
      const result = await runCli([...args, "--from", from], {
        env,
        timeoutMs: 60_000,
        onSpawn: (child) => {
          void script().catch((e: unknown) => (failure = e)).finally(() => child.kill("SIGTERM"))
        }
      })
      const output = `${result.stdout}\n${result.stderr}`
      expect(failure, output).toBeUndefined()
      expect(result.signal === "SIGTERM" || result.code === 0 || result.code === 130, output).toBe(true)
      expect(output).not.toMatch(/too deep|none of its/)
    }
    await relayWhile("tip", async () => {
      await waitFor("the relay cursor", async () => (await bed.client.hget(`${p}cursor`, "seq")) !== null)
      await caughtUp(bed.client, p, s)
      s.switchFork(3, 1) // below the start point, before anything was published
      await caughtUp(bed.client, p, s)
      s.forge(1)
      await caughtUp(bed.client, p, s)
    })
    s.switchFork(3, 2) // while it is down: its start and its published blocks are gone
    await relayWhile("cursor", async () => {
      await caughtUp(bed.client, p, s)
      s.live.start(40)
      await sleep(3_000)
      s.live.stop()
      await caughtUp(bed.client, p, s)
    })
    expect(s.stats().liveForks).toBeGreaterThan(0)
    await expectTipSuffix(p, s, 20)
    expect(Number(await bed.client.hget(`${p}metrics`, "restarts"))).toBeGreaterThanOrEqual(2)
  })
})
