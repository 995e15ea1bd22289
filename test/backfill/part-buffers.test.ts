/**
 * The epoch sessions' part buffers come from one pool for the process (src/backfill/part-buffers.ts):
 * sessions run one after another reuse the same two buffers whatever the number of epochs; sessions
 * running at once never write into a buffer another part still needs (a part is only given back
 * once its write finished, never when it failed); and the bytes are the batches' own.
 */
import fc from "fast-check"
import { beforeEach, describe, expect, it } from "vitest"
import { type Batcher, type EncodedBlocks, jsonArrayBatcher } from "../../src/backfill/batch.js"
import { idlePartBufferBytes, releaseIdlePartBuffers } from "../../src/backfill/part-buffers.js"
import type { Block } from "../../src/domain/block.js"
import { encodeBlock, encodeBlocks } from "../../src/domain/wire-format.js"
import { stringify } from "../../src/json/lossless.js"
import { decodeFrame } from "../../src/ogmios/frame.js"
import { Chain } from "../../src/simulator/index.js"
import { propertyRuns } from "../../src/testing/index.js"

const chain = new Chain({ network: "mainnet-shaped", epochs: { from: 500, to: 500 }, meanBlockBytes: 6_000, nextEpochBlocks: 300 })
const tip = chain.tip()
const blocks: ReadonlyArray<Block> = Array.from({ length: Math.min(300, chain.tipIndex + 1) }, (_, i) =>
  (decodeFrame(`{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${chain.blockBuffer(i).toString("utf8")},"tip":${stringify(tip)}},"id":null}`) as {
    result: { block: Block }
  }).result.block
)
const longest = Math.max(...blocks.map((b) => Buffer.byteLength(encodeBlock(b, "hecate"))))
const PART = 32 * 1024
// room for a part and the block that crosses it: a buffer never has to grow
const INITIAL = PART + 2 * longest + 2

/** One epoch session's batching, as syncEpoch drives it: parts at PART bytes, batches of `batchSize` blocks. */
const session = (slice: ReadonlyArray<Block>, batchSize: number, onPart: (part: EncodedBlocks, batcher: Batcher<EncodedBlocks>) => void) => {
  const batcher = jsonArrayBatcher("hecate", INITIAL, PART)
  for (const b of slice) {
    batcher.add(b)
    if (batcher.size >= batchSize) onPart(batcher.take(true), batcher)
    else if (batcher.partReady === true) onPart(batcher.take(false), batcher)
  }
  if (batcher.size > 0) onPart(batcher.take(true), batcher)
}

beforeEach(() => releaseIdlePartBuffers())

describe("part buffers shared by the epoch sessions", () => {
  it("sessions one after another reuse the same two buffers, whatever the number of epochs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 5, max: 80 }), (sessions, batchSize) => {
        releaseIdlePartBuffers()
        const used = new Set<ArrayBufferLike>()
        const per = Math.floor(blocks.length / sessions)
        for (let s = 0; s < sessions; s++) {
          const slice = blocks.slice(s * per, (s + 1) * per)
          let parts: Array<Buffer> = []
          const entries: Array<string> = []
          // as in syncEpoch: a part's write finishes while the session collects the next one
          let writing: { part: EncodedBlocks; batcher: Batcher<EncodedBlocks> } | undefined
          session(slice, batchSize, (part, batcher) => {
            used.add(part.data.buffer)
            parts.push(Buffer.from(part.data))
            if (writing !== undefined) writing.batcher.written(writing.part)
            writing = { part, batcher }
            if (part.complete) {
              entries.push(Buffer.concat(parts).toString("utf8"))
              parts = []
            }
          })
          if (writing !== undefined) writing.batcher.written(writing.part)
          const expected = Array.from({ length: Math.ceil(slice.length / batchSize) }, (_, k) => encodeBlocks(slice.slice(k * batchSize, (k + 1) * batchSize), "hecate"))
          expect(entries).toEqual(expected)
        }
        // one session's two alternating buffers at most, not two per session
        expect(used.size).toBeLessThanOrEqual(2)
        expect(idlePartBufferBytes()).toBeGreaterThanOrEqual(INITIAL)
      }),
      { numRuns: propertyRuns(30) }
    )
  })

  it("sessions running at once never write into a part still being written, nor into one whose write failed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        // each step: which session moves, and whether the oldest write in flight finishes, fails or waits
        fc.array(fc.tuple(fc.nat(), fc.constantFrom("finish", "fail", "wait")), { minLength: 20, maxLength: 400 }),
        (sessions, steps) => {
          releaseIdlePartBuffers()
          const batchers = Array.from({ length: sessions }, () => jsonArrayBatcher("hecate", INITIAL, PART))
          const next = Array.from({ length: sessions }, (_, s) => s)
          // parts handed over and not yet given back, with a copy of their bytes when handed over
          const inFlight: Array<{ session: number; part: EncodedBlocks; bytes: Buffer }> = []
          const failed: Array<{ part: EncodedBlocks; bytes: Buffer }> = []
          const check = () => {
            for (const p of [...inFlight, ...failed]) expect(p.part.data.equals(p.bytes)).toBe(true)
          }
          for (const [who, outcome] of steps) {
            const s = who % sessions
            const batcher = batchers[s]!
            batcher.add(blocks[next[s]! % blocks.length]!)
            next[s]! += sessions
            // a session writes one part at a time: it hands a part over only once its previous write settled
            if (batcher.partReady === true && !inFlight.some((p) => p.session === s)) {
              const part = batcher.take(false)
              inFlight.push({ session: s, part, bytes: Buffer.from(part.data) })
            }
            check()
            const oldest = inFlight[0]
            if (oldest !== undefined && outcome !== "wait") {
              inFlight.shift()
              if (outcome === "finish") batchers[oldest.session]!.written(oldest.part)
              else failed.push(oldest)
            }
          }
          for (const p of inFlight) batchers[p.session]!.written(p.part)
          inFlight.length = 0
          // more sessions after: the failed parts' buffers are still never reused
          session(blocks, 50, (part) => {
            expect(failed.some((f) => f.part.data.buffer === part.data.buffer)).toBe(false)
            check()
          })
          check()
        }
      ),
      { numRuns: propertyRuns(60) }
    )
  })

  it("gives the idle buffers up when a run ends: the next session takes a new one", () => {
    const first = new Set<ArrayBufferLike>()
    session(blocks.slice(0, 100), 500, (part, batcher) => {
      first.add(part.data.buffer)
      batcher.written(part)
    })
    expect(idlePartBufferBytes()).toBeGreaterThan(0)
    releaseIdlePartBuffers()
    expect(idlePartBufferBytes()).toBe(0)
    session(blocks.slice(100, 200), 500, (part, batcher) => {
      expect(first.has(part.data.buffer)).toBe(false)
      batcher.written(part)
    })
  })
})
