/**
 * `hecate relay` (built CLI, needs `npm run build`) behind the fault proxy: a frame it cannot read
 * (not JSON, cut short, answering no request) is a dropped connection, like a frame over the size
 * limit or a connection closed mid-frame: the relay logs it at WARN with the cause,
 * reconnects, re-intersects at what it delivered, and the Redis streams come out exactly as an
 * uninterrupted run leaves them (folding `events` gives the canonical chain, no undo, no repeat).
 * Property-based over the fault kind, the block it hits, and whether it repeats on every
 * connection (then at a frame past the first block, so each connection makes progress).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Fault, type FaultKind, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"
import { expectCanonical } from "./harness.js"
import { proxiedRelay } from "./proxied-relay.js"

const BLOCKS = 40
const t = proxiedRelay("relay-malformed", BLOCKS)
const relayThrough = (fault: Fault) => t.relayThrough(fault)

const CAUSE = "malformed Ogmios frame: not JSON"
/** The cause each kind must be named by in the reconnect line. */
const CAUSES: Partial<Record<FaultKind, RegExp>> = {
  corrupt: /Ogmios connection lost \(malformed Ogmios frame: not JSON\)/,
  truncate: /Ogmios connection lost \(malformed Ogmios frame: not JSON\)/,
  changeId: /Ogmios connection lost \(malformed Ogmios frame: a reply to no request sent \(id \d+\)\)/,
  oversize: /Ogmios connection lost \(.*frame of 140 MB exceeds the 128 MiB limit/,
  closeMidFrame: /Ogmios connection lost \(.*closed mid-frame/,
  invalidUtf8: /Ogmios connection lost \(.*received a text frame that is not valid UTF-8/
}

describe("relay: a malformed frame is a dropped connection (CLI, fault proxy)", () => {
  it("recovers from one invalid-JSON frame: WARN with the cause, reconnect, streams equal to an uninterrupted run", async () => {
    const { prefix, result, fired } = await relayThrough({ kind: "corrupt", at: { height: 17 } })
    expect(result.code, result.stdout + result.stderr).toBe(130)
    expect(fired).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`WARN .*Ogmios connection lost \\(${CAUSE}.*\\); reconnecting to ws://127\\.0\\.0\\.1:${t.proxy.port}`))
    // re-intersected at the last block delivered before the bad frame
    expect(result.stderr).toContain(`reconnected to ${t.proxy.url} from ${t.sim.chain.blockAt(16)!.slot}.${t.sim.chain.blockAt(16)!.id}`)
    const { events } = await expectCanonical(t.client, prefix, t.sim)
    expect(events.filter((e) => e.type === "undo")).toEqual([])
    expect(events).toHaveLength(BLOCKS)
  })

  it("a text frame that is not valid UTF-8 is named as such (not as a frame cut short), and the relay recovers", async () => {
    const { prefix, result, fired } = await relayThrough({ kind: "invalidUtf8", at: { height: 11 } })
    expect(result.code, result.stdout + result.stderr).toBe(130)
    expect(fired).toBe(1)
    expect(result.stderr).toMatch(CAUSES.invalidUtf8!)
    expect(result.stderr).not.toMatch(/closed mid-frame/)
    const { events } = await expectCanonical(t.client, prefix, t.sim)
    expect(events).toHaveLength(BLOCKS)
  })

  it("property: connection fault × block × once/every connection always ends on the canonical chain", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<FaultKind>("corrupt", "truncate", "changeId", "oversize", "closeMidFrame", "invalidUtf8"),
        fc.integer({ min: 1, max: BLOCKS - 2 }),
        fc.boolean(),
        async (kind, position, everyConnection) => {
          // every connection: the frame after `position` new blocks (frame 1 answers findIntersection,
          // frame 2 is the backward to the intersection), so each connection delivers some blocks first
          const fault: Fault = everyConnection
            ? { kind, at: { frame: 2 + Math.min(position, 6) + 1 }, repeat: "always" }
            : { kind, at: { height: position } }
          const { prefix, result, fired } = await relayThrough(fault)
          expect(result.code, result.stdout + result.stderr).toBe(130)
          expect(fired).toBeGreaterThanOrEqual(1)
          expect(result.stderr).toMatch(CAUSES[kind]!)
          const { events } = await expectCanonical(t.client, prefix, t.sim)
          expect(events.filter((e) => e.type === "undo")).toEqual([])
          expect(events).toHaveLength(BLOCKS)
        }
      ),
      { numRuns: 6, seed: 12 }
    )
  }, 120_000)
})
