/**
 * The epoch streams are byte for byte what the backfill wrote before blocks were kept as their
 * frame text (src/domain/block-text.ts): each entry's `data` equals the encode of the parsed
 * blocks (encodeBlocks over the simulator's blocks, the path every other writer uses), in both
 * wire formats, on mainnet-shaped epochs with big integers (Byron EBBs, which a backfill of a
 * Byron-only chain cannot reach, are compared frame by frame in test/domain/block-text.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { Block } from "../../../src/domain/block.js"
import { encodeBlocks, type WireFormat } from "../../../src/domain/wire-format.js"
import { type SimulatorHandle } from "../../../src/simulator/index.js"
import { e2e, type E2e, output, xrange } from "../../support/backfill-e2e.js"

let t: E2e
beforeEach(async () => {
  t = await e2e()
})
afterEach(async () => {
  await t.cleanup()
})

const BATCH = 9

/** The entries' data the parsed path gives: the epoch's blocks in batches of BATCH. */
const expectedData = (sim: SimulatorHandle, epoch: number, format: WireFormat): Array<string> => {
  const info = sim.chain.epochInfo(epoch)!
  const blocks: Array<Block> = []
  for (let h = info.firstHeight; h <= info.lastHeight; h++) blocks.push(sim.chain.blockAt(h) as Block)
  const out: Array<string> = []
  for (let i = 0; i < blocks.length; i += BATCH) out.push(encodeBlocks(blocks.slice(i, i + BATCH), format))
  return out
}

const compare = async (sim: SimulatorHandle, format: WireFormat, first: number, last: number, args: ReadonlyArray<string>, prefix: string) => {
  const run = await t.backfill(["--endpoint", sim.url, "--batch-size", String(BATCH), "--format", format, "--redis-prefix", prefix, ...args], { timeoutMs: 180_000 })
  expect(run.code, output(run)).toBe(0)
  let bigInts = 0
  for (let e = first; e <= last; e++) {
    const got = (await xrange(t.redis, `${prefix}epoch:${e}`)).map((x) => x.fields["data"])
    const expected = expectedData(sim, e, format)
    expect(got.length, `epoch ${e} entries`).toBe(expected.length)
    for (let i = 0; i < expected.length; i++) expect(got[i], `${format} epoch ${e} entry ${i}`).toBe(expected[i])
    bigInts += expected.filter((d) => /[:[,]-?\d{16,}/.test(d)).length
  }
  return bigInts
}

describe("epoch stream bytes (blocks from their frame text)", () => {
  it("mainnet-shaped epoch 208: every entry's data is the parsed path's, in both formats", async () => {
    const sim = await t.sim({ port: 0, network: "mainnet-shaped", epochs: { from: 208, to: 209 }, meanBlockBytes: 3_000, emptyBlockRate: 0.1 })
    let bigInts = 0
    for (const format of ["hecate", "ogmios"] as const) bigInts += await compare(sim, format, 208, 208, ["--start-epoch", "208", "--end-epoch", "208"], `${t.prefix}${format}:`)
    expect(bigInts).toBeGreaterThan(0)
  }, 400_000)
})
