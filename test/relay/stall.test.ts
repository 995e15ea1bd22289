/**
 * `hecate relay` (built CLI) behind the fault proxy when Ogmios stops answering mid-sync (the
 * socket stays open and answers pings): below the tip, no answer to nextBlock for
 * HECATE_REQUEST_TIMEOUT_MS is a dead connection. The relay logs it with that cause, reconnects,
 * re-intersects, and the streams come out as an uninterrupted run's.
 */
import { describe, expect, it } from "vitest"
import { expectCanonical } from "./harness.js"
import { proxiedRelay } from "./proxied-relay.js"

const BLOCKS = 40
const t = proxiedRelay("relay-stall", BLOCKS)

describe("relay: an Ogmios that stops answering below the tip (CLI, fault proxy)", () => {
  it("is a dead connection after HECATE_REQUEST_TIMEOUT_MS: WARN with the cause, reconnect, exact streams", async () => {
    const { prefix, result, fired } = await t.relayThrough(
      { kind: "stall", at: { height: 17 } },
      { args: ["--depth", "10", "--in-flight", "4"], env: { HECATE_REQUEST_TIMEOUT_MS: "1000" } }
    )
    expect(result.code, result.stdout + result.stderr).toBe(130)
    expect(fired).toBe(1)
    expect(result.stderr).toMatch(/WARN .*no answer to nextBlock for 1 s/)
    const { events } = await expectCanonical(t.client, prefix, t.sim)
    expect(events.filter((e) => e.type === "undo")).toEqual([])
    expect(events).toHaveLength(BLOCKS)
  })
})
