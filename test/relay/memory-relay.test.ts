/**
 * The library's relay on an in-memory chain-sync source and the in-memory relay store: no Redis,
 * no socket. It catches up from origin, follows a fork at the tip, and what it stored folds to the
 * chain, every block final exactly once at `depth`.
 */
import { Effect, Fiber, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { makeMemoryRelayStore } from "../../src/relay/MemoryRelayStore.js"
import { relay } from "../../src/relay/relay.js"
import { RelayStore } from "../../src/relay/RelayStore.js"
import { MemoryChain } from "../../src/testing/memory-chain.js"
import { waitFor } from "./harness.js"

describe("relay on an in-memory source and store", () => {
  it("catches up from origin, follows a fork, and stores exactly the chain", async () => {
    const chain = new MemoryChain({ length: 300, k: 10 })
    const memory = makeMemoryRelayStore({ prefix: "memory:" })
    const fiber = Effect.runFork(
      relay({ source: chain.source, from: "origin", inFlight: 32 }).pipe(
        Effect.provide(Layer.mergeAll(chain.ogmios(), Layer.succeed(RelayStore, memory)))
      )
    )
    const atTip = () => memory.state().window.at(-1)?.split(" ")[2] === chain.blocks.at(-1)!.id
    try {
      await waitFor("the relay to catch up", atTip)
      // the depth came from the genesis query (k)
      expect(memory.state().cursor["depth"]).toBe("10")
      chain.fork(4, 6)
      await waitFor("the relay to follow the fork", atTip)
      chain.extend(1)
      await waitFor("the relay to take the next block", atTip)
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
    const state = memory.state()
    const folded: Array<string> = []
    let undos = 0
    for (const [, f] of state.events) {
      const hash = f[f.indexOf("hash") + 1]!
      if (f[1] === "apply") folded.push(hash)
      else {
        undos++
        expect(folded.pop()).toBe(hash)
      }
    }
    expect(undos).toBe(4)
    expect(folded).toEqual(chain.blocks.map((b) => b.id))
    const finals = state.final.map(([, f]) => f[f.indexOf("hash") + 1]!)
    expect(finals).toEqual(chain.blocks.slice(0, chain.blocks.length - 10).map((b) => b.id))
    expect(chain.sessions).toBe(1)
  })
})
