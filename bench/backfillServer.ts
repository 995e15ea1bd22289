/**
 * Bench child for bench/backfill.ts: the project's simulator serving a custom chain, every block
 * generated (and cached) before it answers, so block generation is never measured. It also writes
 * the chain's epoch index to an epoch-cache file (HECATE_EPOCH_CACHE format), so the backfill does
 * not derive it from the chain first.
 *
 *   node backfillServer.js <blocks> <meanBlockBytes> <epochLength> <cachePath>
 *     -> prints {"url","network","target","epochs":[{epoch,blocks,bytes}],"blocks","bytes"} once ready
 */
import { writeFileSync } from "node:fs"
import { emptyCache, type EpochRow, renderCache, withNetworkRows } from "../src/backfill/epoch-index-data.js"
import { networkIdOf } from "../src/backfill/network.js"
import { startSimulator } from "../src/simulator/index.js"

const [blocksArg, meanArg, epochLengthArg, cachePath] = process.argv.slice(2)
const blocks = Number(blocksArg ?? 100_000)
const meanBlockBytes = Number(meanArg ?? 14_000)
const epochLength = Number(epochLengthArg ?? 10_000)
const f = 0.5
const perEpoch = epochLength * f

const sim = await startSimulator({
  port: 0,
  network: "custom",
  epochLength,
  activeSlotsCoefficient: f,
  securityParameter: 100,
  // enough for `blocks` in finalized epochs, plus the open epoch at the tip
  initialBlocks: blocks + Math.ceil(perEpoch * 1.5),
  meanBlockBytes,
  cacheBytes: 8 * 1024 * 1024 * 1024
})
const chain = sim.chain
for (let i = 0; i <= chain.tipIndex; i++) chain.blockBuffer(i) // generate + cache every frame

const target = chain.currentEpoch() - 1
const rows: Array<EpochRow> = []
const epochs: Array<{ epoch: number; blocks: number; bytes: number }> = []
let total = 0
let bytes = 0
for (let e = 0; e <= target; e++) {
  const info = chain.epochInfo(e)!
  rows.push(chain.epochRow(e)!)
  let eb = 0
  for (let h = info.firstHeight; h <= info.lastHeight; h++) eb += chain.blockBuffer(chain.indexOfHeight(h)).length
  epochs.push({ epoch: e, blocks: info.blocks, bytes: eb })
  total += info.blocks
  bytes += eb
}
const genesis = chain.genesis.shelley
const network = networkIdOf(genesis.networkMagic, String(genesis.startTime))
if (cachePath !== undefined) writeFileSync(cachePath, renderCache(withNetworkRows(emptyCache(), network, rows)))
process.stdout.write(`${JSON.stringify({ url: sim.url, network, target, epochs, blocks: total, bytes, rows })}\n`)
process.on("SIGTERM", () => void sim.stop().then(() => process.exit(0)))
