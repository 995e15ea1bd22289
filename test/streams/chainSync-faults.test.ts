// chainSync$ behind the fault proxy: every connection fault (a frame that is not JSON or is cut
// short, a frame over the size limit, a connection closed mid-frame, a server that stops answering,
// a reply under an id nobody asked for) is a reconnect that resumes with nothing lost or repeated.
// Attempts are counted by progress: the same fault on every connection at one block errors the
// Observable after exactly `maxAttempts` reconnects, with every block before it delivered once; a
// fault on every connection that still lets each connection deliver a new block never gives up.
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { OgmiosError } from "../../src/ogmios/errors.js"
import type { ReconnectInfo } from "../../src/ogmios/follower.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { chainSync$ } from "../../src/streams/chainSync.js"
import { type FaultKind, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"
import { consume, waitFor } from "../ogmios/support/consumer.js"

const BLOCKS = 60
let sim: SimulatorHandle
let proxy: FaultProxy
let canonical: Array<string>

beforeAll(async () => {
  sim = await startSimulator({ port: 0, network: "custom", epochLength: 1000, initialBlocks: BLOCKS, meanBlockBytes: 1024, seed: "chainsync-faults" })
  proxy = await startFaultProxy(sim.url)
  canonical = sim.chain.canonicalPoints().map((p) => p.id)
})
afterAll(async () => {
  await proxy?.close()
  await sim?.stop()
})

const CAUSE: Record<string, { readonly tag: OgmiosError["_tag"]; readonly message: RegExp }> = {
  corrupt: { tag: "MalformedFrame", message: /^malformed Ogmios frame: not JSON$/ },
  truncate: { tag: "MalformedFrame", message: /^malformed Ogmios frame: not JSON$/ },
  oversize: { tag: "ConnectionLost", message: /frame of 140 MB exceeds the 128 MiB limit/ },
  closeMidFrame: { tag: "ConnectionLost", message: /closed mid-frame/ },
  stall: { tag: "RequestTimeout", message: /^no answer to nextBlock for 300 ms$/ },
  changeId: { tag: "MalformedFrame", message: /^malformed Ogmios frame: a reply to no request sent \(id 1000000\)$/ }
}
const KINDS = Object.keys(CAUSE) as Array<FaultKind>

const follow = (maxAttempts: number, inFlight: number) => {
  const reconnects: Array<ReconnectInfo> = []
  const source = chainSync$({
    endpoints: [proxy.url],
    points: ["origin"],
    inFlight,
    requestTimeout: 300,
    reconnect: { initialDelay: 5, maxDelay: 20, maxAttempts },
    onReconnect: (r) => reconnects.push(r)
  })
  return { consumer: consume(source), reconnects }
}

const blocksOf = (c: ReturnType<typeof consume>) => c.model.ids

describe("chainSync$ under connection faults (fault proxy)", () => {
  it("property: a one-off fault anywhere is one reconnect; the stream ends on the canonical chain", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: BLOCKS - 1 }), fc.integer({ min: 1, max: 20 }), async (kind, height, inFlight) => {
        proxy.arm({ kind, at: { height } })
        const { consumer, reconnects } = follow(2, inFlight)
        try {
          await waitFor(() => blocksOf(consumer).length === BLOCKS || consumer.error !== undefined, 10_000, "the whole chain")
          expect(consumer.error).toBeUndefined()
          expect(blocksOf(consumer)).toEqual(canonical)
          expect(consumer.model.violations).toEqual([])
          expect(reconnects.map((r) => r.error._tag)).toEqual([CAUSE[kind]!.tag])
          expect(reconnects[0]!.error.message).toMatch(CAUSE[kind]!.message)
        } finally {
          consumer.sub.unsubscribe()
          proxy.clear()
        }
      }),
      { numRuns: 20, seed: 3 }
    )
  }, 60_000)

  it("property: the same fault at one block on every connection errors after maxAttempts reconnects, the blocks before it delivered once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KINDS), fc.integer({ min: 1, max: BLOCKS - 1 }), fc.integer({ min: 1, max: 3 }), async (kind, height, maxAttempts) => {
        proxy.arm({ kind, at: { height }, repeat: "always" })
        const { consumer, reconnects } = follow(maxAttempts, 10)
        try {
          await waitFor(() => consumer.error !== undefined, 10_000, "the stream to give up")
          expect((consumer.error as OgmiosError)._tag).toBe(CAUSE[kind]!.tag)
          expect((consumer.error as OgmiosError).message).toMatch(CAUSE[kind]!.message)
          expect(reconnects.map((r) => r.attempt)).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1))
          expect(blocksOf(consumer)).toEqual(canonical.slice(0, height))
          expect(consumer.model.violations).toEqual([])
        } finally {
          consumer.sub.unsubscribe()
          proxy.clear()
        }
      }),
      { numRuns: 12, seed: 5 }
    )
  }, 60_000)

  it("a fault on every connection that lets each deliver new blocks first never exhausts the attempts", async () => {
    // frame 1 answers findIntersection, frame 2 is the backward to the intersection, frames 3.. are blocks
    proxy.arm({ kind: "closeMidFrame", at: { frame: 6 }, repeat: "always" })
    const { consumer, reconnects } = follow(1, 5)
    try {
      await waitFor(() => blocksOf(consumer).length === BLOCKS || consumer.error !== undefined, 20_000, "the whole chain")
      expect(consumer.error).toBeUndefined()
      expect(blocksOf(consumer)).toEqual(canonical)
      expect(reconnects.length).toBeGreaterThanOrEqual(Math.floor(BLOCKS / 3) - 1)
      expect(reconnects.every((r) => r.attempt === 1)).toBe(true) // progress reset the count every time
    } finally {
      consumer.sub.unsubscribe()
      proxy.clear()
    }
  }, 30_000)
})
