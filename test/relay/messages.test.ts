// Key prefixes end in ":" (hecate:relay:), so a message that writes "<prefix>: <detail>" reads
// "hecate:relay:: …". The relay's messages name a prefix without a colon glued to it, and say how
// the command at hand sets the depth (serve has no --depth flag).
import { describe, expect, it } from "vitest"
import { RelayChainBroken, RelayCursorInvalid, RelayDepthExceeded } from "../../src/relay/errors.js"

describe("relay messages", () => {
  it("never glue a colon to a prefix, and name only the depth setting they are given", () => {
    const prefix = "b16:s:"
    const messages = [
      new RelayCursorInvalid({ prefix, detail: "its entries are in the ogmios format" }).message,
      new RelayChainBroken({ prefix, detail: "block 12 does not extend the chain", attempts: 3 }).message,
      new RelayDepthExceeded({ prefix, detail: "rollback too deep" }).message
    ]
    for (const m of messages) expect(m).not.toContain("::")
    expect(new RelayDepthExceeded({ prefix, detail: "x" }).message).not.toContain("--depth")
    expect(new RelayDepthExceeded({ prefix, detail: "x", setting: "--depth, HECATE_RELAY_DEPTH" }).message).toContain("the default: --depth, HECATE_RELAY_DEPTH)")
  })
})
