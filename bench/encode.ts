/**
 * Encoding a sink batch, old path against new, in one process on the same blocks (mainnet-shaped
 * simulator blocks, about 40 % with a big integer), alternating rounds and keeping each path's best:
 *
 * - one-shot (the baseline): the batch's parsed blocks stringified as one array, which falls back
 *   to the bigint replacer for the whole batch as soon as one block holds a bigint;
 * - per block (the backfill now): each block encoded as it arrives into the JSON-array buffer
 *   (src/backfill/batch.ts), the parser's bigints written through JSON.rawJSON (native path).
 *
 * Both give the same bytes (checked here, and by test/domain/wire-format.test.ts).
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/encode.js [blocks] [meanBlockBytes]
 */
import { pathToFileURL } from "node:url"
import { jsonArrayBatcher } from "../src/backfill/batch.js"
import type { Block } from "../src/domain/block.js"
import { prepareBlock, WIRE_FORMATS, type WireFormat } from "../src/domain/wire-format.js"
import { stringify } from "../src/json/lossless.js"
import { decodeFrame } from "../src/ogmios/frame.js"
import { Chain } from "../src/simulator/index.js"

export interface EncodeBenchRow {
  readonly format: WireFormat
  readonly oneShotMbPerSecond: number
  readonly perBlockMbPerSecond: number
}

export const runEncodeBench = (blocks = 3000, meanBlockBytes = 16_384, batchSize = 500): Array<EncodeBenchRow> => {
  const chain = new Chain({ network: "mainnet-shaped", epochs: { from: 500, to: 500 }, meanBlockBytes, nextEpochBlocks: blocks })
  const tip = stringify(chain.tip())
  const count = Math.min(blocks, chain.tipIndex + 1)
  const decoded: Array<Block> = []
  for (let i = 0; i < count; i++) {
    const text = `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${chain.blockBuffer(i).toString("utf8")},"tip":${tip}},"id":null}`
    decoded.push((decodeFrame(text) as unknown as { result: { block: Block } }).result.block)
  }
  const batches: Array<ReadonlyArray<Block>> = []
  for (let i = 0; i < decoded.length; i += batchSize) batches.push(decoded.slice(i, i + batchSize))
  const withBig = decoded.filter((b) => {
    try {
      JSON.stringify(b)
      return false
    } catch {
      return true
    }
  }).length

  const rows: Array<EncodeBenchRow> = []
  for (const format of WIRE_FORMATS) {
    const oneShot = () => batches.reduce((n, b) => n + Buffer.byteLength(stringify(format === "hecate" ? b.map(prepareBlock) : b)), 0)
    const batcher = jsonArrayBatcher(format)
    const perBlock = () => {
      let n = 0
      for (const b of batches) {
        for (const block of b) batcher.add(block)
        const batch = batcher.take()
        n += batch.data.length
        batcher.written(batch)
      }
      return n
    }
    const bytes = oneShot()
    if (perBlock() !== bytes) throw new Error(`${format}: the two paths give different lengths`)
    const best = { oneShot: 0, perBlock: 0 }
    for (let round = 0; round < 5; round++) {
      for (const [name, fn] of [["oneShot", oneShot], ["perBlock", perBlock]] as const) {
        const started = performance.now()
        fn()
        best[name] = Math.max(best[name], bytes / ((performance.now() - started) / 1000) / 1e6)
      }
    }
    rows.push({ format, oneShotMbPerSecond: best.oneShot, perBlockMbPerSecond: best.perBlock })
  }
  const mean = decoded.reduce((n, b) => n + Buffer.byteLength(stringify(b)), 0) / decoded.length
  console.log(
    `encode: ${decoded.length} mainnet-shaped blocks (${(mean / 1024).toFixed(1)} KB, ${((100 * withBig) / decoded.length).toFixed(0)} % with a big integer), ` +
      `batches of ${batchSize}, best of 5 alternating rounds`
  )
  console.log("format   one-shot MB/s (baseline)   per block MB/s   speed-up")
  for (const r of rows) {
    console.log(
      `${r.format.padEnd(8)} ${r.oneShotMbPerSecond.toFixed(0).padStart(25)} ${r.perBlockMbPerSecond.toFixed(0).padStart(16)} ` +
        `${(r.perBlockMbPerSecond / r.oneShotMbPerSecond).toFixed(2).padStart(9)}×`
    )
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, mean] = process.argv.slice(2).map(Number)
  runEncodeBench(blocks || undefined, mean || undefined)
}
