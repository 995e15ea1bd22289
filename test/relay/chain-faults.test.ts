/**
 * `hecate relay` (built CLI) behind the fault proxy, fed blocks that do not extend the chain: a
 * right parent hash with a height that is not the parent's + 1, or a parent hash that is no
 * block's, or a rollback to a point on no chain. Such a block is never written to `events` or `final`. Once, it is a fault in transit:
 * the relay logs it (naming the block), reconnects from its stored cursor and the streams come
 * out as an uninterrupted run's. On every connection at the same block, it stops with exit 10 and
 * a message naming the block, and what it wrote before stays exact.
 */
import type { ChildProcess } from "node:child_process"
import fc from "fast-check"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"
import { type Fault, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"
import { caughtUp, cleanup, expectCanonical, newPrefix } from "./harness.js"
import { foldEntries, relayState } from "./support.js"

let client: IORedis
let sim: SimulatorHandle
let proxy: FaultProxy
const prefixes: Array<string> = []
const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
const BLOCKS = 40
const DEPTH = 5

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  sim = await startSimulator({ port: 0, seed: "relay-chain-faults", securityParameter: 10, initialBlocks: BLOCKS, meanBlockBytes: 512 })
  proxy = await startFaultProxy(sim.url)
})
afterAll(async () => {
  await proxy?.close()
  await sim?.stop()
  await cleanup(client, prefixes)
  client.disconnect()
})

const relayArgs = (prefix: string) =>
  ["relay", "--endpoint", proxy.url, "--redis-prefix", prefix, "--from", "origin", "--depth", String(DEPTH), "--in-flight", "8", "--no-refresh"]

/** Relays through `fault` until caught up (then SIGINT), or until the relay exits by itself. */
const relayThrough = async (fault: Fault, untilCaughtUp: boolean) => {
  const prefix = newPrefix()
  prefixes.push(prefix)
  proxy.arm(fault)
  const firedBefore = proxy.fired
  let child: ChildProcess | undefined
  const done = runCli(relayArgs(prefix), { env, timeoutMs: 40_000, onSpawn: (c) => (child = c) })
  if (untilCaughtUp) {
    try {
      await caughtUp(client, prefix, sim, 30_000)
    } finally {
      child?.kill("SIGINT")
    }
  }
  const result = await done
  proxy.clear()
  return { prefix, result, fired: proxy.fired - firedBefore }
}

describe("relay: blocks that do not extend the chain are never written (CLI, fault proxy)", () => {
  it("property: jumped height / broken parent, once → recovery with exact streams; every connection → exit 10 naming the block", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("jumpHeight" as const, "breakParent" as const, "rollbackUnknown" as const),
        fc.integer({ min: 2, max: BLOCKS - 2 }),
        fc.boolean(),
        async (kind, height, everyConnection) => {
          const bad = sim.chain.blockAt(height)!
          const { prefix, result, fired } = await relayThrough({ kind, at: { height }, repeat: everyConnection ? "always" : "once" }, !everyConnection)
          const output = result.stdout + result.stderr
          expect(fired).toBeGreaterThanOrEqual(1)
          if (kind === "rollbackUnknown") expect(output).toMatch(/WARN .*a rollback to a point that is not on the chain/)
          else {
            expect(output).toContain(`block ${bad.id}`)
            expect(output).toMatch(/WARN .*does not extend the chain/)
          }
          if (everyConnection) {
            expect(result.code, output).toBe(10)
            expect(output).toMatch(/the node's chain does not verify/)
            // what was written is exactly the chain below the fault, final `depth` deep
            const { events, final } = await relayState(client, prefix)
            const chain = foldEntries(events)
            const written = kind === "rollbackUnknown" ? chain.length : height
            if (kind === "rollbackUnknown") expect(written).toBeLessThanOrEqual(height)
            expect(chain.map((b) => b.hash)).toEqual(Array.from({ length: written }, (_, h) => sim.chain.blockAt(h)!.id))
            expect(final.map((b) => b.height)).toEqual(Array.from({ length: Math.max(0, written - DEPTH) }, (_, h) => h))
          } else {
            expect(result.code, output).toBe(130)
            const { events } = await expectCanonical(client, prefix, sim)
            expect(events.filter((e) => e.type === "undo")).toEqual([])
            expect(events).toHaveLength(BLOCKS)
          }
        }
      ),
      { numRuns: 8, seed: 3 }
    )
  }, 180_000)
})
