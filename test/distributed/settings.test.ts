// HECATE_QUEUE_PREFIX written like Hecate's other prefixes (ending in ":") must not give BullMQ
// keys, and log lines, with a double colon: BullMQ joins `<prefix>:<queue>` itself.
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { bullPrefix, queueSettings } from "../../src/distributed/settings.js"

describe("the queue prefix", () => {
  it("loses its trailing colons, so `<prefix>:<queue>` has a single colon", async () => {
    const q = await Effect.runPromise(queueSettings(undefined, "b16:s:", { url: "redis://127.0.0.1:6379" }))
    expect(`${q.prefix}:${q.name}`).toBe("b16:s:hecate-backfill")
    expect(bullPrefix("bull")).toBe("bull")
    expect(bullPrefix("a::")).toBe("a")
    expect(bullPrefix(":")).toBe(":")
  })
})
