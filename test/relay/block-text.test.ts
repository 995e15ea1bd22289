/**
 * The relay forwards blocks from their frame text (no parse and re-stringify per block): the live
 * source hands the relay header-only blocks that keep their text, and what lands in `events` is
 * still, byte for byte, the parsed block written in the stream's format. Simulator and Redis are
 * real; Conway and Byron blocks (epoch-boundary blocks too), with a fork on the way.
 */
import { firstValueFrom, take, toArray } from "rxjs"
import { describe, expect, it } from "vitest"
import { blockText } from "../../src/domain/block-text.js"
import { encodeBlock, type WireFormat } from "../../src/domain/wire-format.js"
import { ogmiosRelaySource } from "../../src/relay/source.js"
import { caughtUp, expectCanonical, relayTestBed, startRelay } from "./harness.js"
import { readEntries } from "./support.js"

const bed = relayTestBed({ seed: "relay-block-text", securityParameter: 10, initialBlocks: 40, meanBlockBytes: 4096, maxRollback: 4 })

describe("relay blocks from their frame text", () => {
  it("the live source delivers every forward block with its frame text kept", async () => {
    const s = await bed.sim()
    const source = ogmiosRelaySource({ endpoints: [s.url], reconnect: { maxAttempts: 0 } })({ points: ["origin"], inFlight: 50 })
    const events = await firstValueFrom(source.pipe(take(31), toArray()))
    const forwards = events.filter((e) => e._tag === "RollForward")
    expect(forwards).toHaveLength(30)
    for (const e of forwards) {
      expect(blockText(e.block), `block ${e.block.height} keeps its text`).toBeDefined()
      // header-only: the transactions stay in the text
      expect((e.block as { transactions?: unknown }).transactions).toBeUndefined()
    }
  })

  const networks = {
    conway: {},
    // Byron: epoch-boundary blocks, which share their height with the block before them
    byron: { era: "byron", epochLength: 60, activeSlotsCoefficient: 0.25, initialBlocks: 150 }
  } as const
  for (const [network, options] of Object.entries(networks)) {
    for (const format of ["hecate", "ogmios"] as const satisfies ReadonlyArray<WireFormat>) {
      it(`${network} blocks: apply entries hold the parsed block encoded as ${format}, byte for byte, across a fork`, async () => {
        const s = await bed.sim(options)
        const p = bed.prefix()
        const relay = startRelay(s, p, { format })
        await caughtUp(bed.client, p, s)
        s.switchFork(3, 5)
        await caughtUp(bed.client, p, s)
        await relay.stop()
        await expectCanonical(bed.client, p, s)
        const applies = (await readEntries(bed.client, `${p}events`)).filter((e) => e.type === "apply")
        const byHash = new Map(applies.map((e) => [e.hash, e]))
        let compared = 0
        for (const block of s.chain.blocks()) {
          const entry = byHash.get(block.id)
          expect(entry, `an apply entry of block ${block.height} ${block.id}`).toBeDefined()
          expect(entry!.blockText, `block ${block.height}`).toBe(encodeBlock(block, format))
          compared++
        }
        expect(compared).toBe(s.chain.length)
        expect(compared).toBeGreaterThan(40)
      })
    }
  }
})
