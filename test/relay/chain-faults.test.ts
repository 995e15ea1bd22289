/**
 * `hecate relay` (built CLI) behind the fault proxy, fed blocks that do not extend the chain: a
 * right parent hash with a height that is not the parent's + 1, or a parent hash that is no
 * block's, or a rollback to a point on no chain. Such a block is never written to `events` or `final`. Once, it is a fault in transit:
 * the relay logs it (naming the block), reconnects from its stored cursor and the streams come
 * out as an uninterrupted run's. On every connection at the same block, it stops with exit 10 and
 * a message naming the block, and what it wrote before stays exact.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { expectCanonical } from "./harness.js"
import { proxiedRelay } from "./proxied-relay.js"
import { foldEntries, relayState } from "./support.js"

const BLOCKS = 40
const DEPTH = 5
const t = proxiedRelay("relay-chain-faults", BLOCKS)

describe("relay: blocks that do not extend the chain are never written (CLI, fault proxy)", () => {
  it("property: jumped height / broken parent, once → recovery with exact streams; every connection → exit 10 naming the block", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("jumpHeight" as const, "breakParent" as const, "rollbackUnknown" as const),
        fc.integer({ min: 2, max: BLOCKS - 2 }),
        fc.boolean(),
        async (kind, height, everyConnection) => {
          const bad = t.sim.chain.blockAt(height)!
          const { prefix, result, fired } = await t.relayThrough(
            { kind, at: { height }, repeat: everyConnection ? "always" : "once" },
            { untilCaughtUp: !everyConnection, args: ["--depth", String(DEPTH), "--in-flight", "8"] }
          )
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
            const { events, final } = await relayState(t.client, prefix)
            const chain = foldEntries(events)
            const written = kind === "rollbackUnknown" ? chain.length : height
            if (kind === "rollbackUnknown") expect(written).toBeLessThanOrEqual(height)
            expect(chain.map((b) => b.hash)).toEqual(Array.from({ length: written }, (_, h) => t.sim.chain.blockAt(h)!.id))
            expect(final.map((b) => b.height)).toEqual(Array.from({ length: Math.max(0, written - DEPTH) }, (_, h) => h))
          } else {
            expect(result.code, output).toBe(130)
            const { events } = await expectCanonical(t.client, prefix, t.sim)
            expect(events.filter((e) => e.type === "undo")).toEqual([])
            expect(events).toHaveLength(BLOCKS)
          }
        }
      ),
      { numRuns: 8, seed: 3 }
    )
  }, 180_000)
})
