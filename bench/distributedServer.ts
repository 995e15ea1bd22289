/**
 * Bench child for bench/distributed.ts: the simulator serving a custom chain with every block
 * generated (and cached) before it answers, and the chain's epoch index written to an epoch-cache
 * file, so neither block generation nor index derivation is measured.
 *
 *   node distributedServer.js <blocks> <meanBlockBytes> <epochLength> <cachePath>
 *     -> prints {"url","network","target","blocks","bytes"} once ready
 */
import { writeFileSync } from "node:fs"
import { emptyCache, type EpochRow, renderCache, withNetworkRows } from "../src/backfill/epoch-index-data.js"
import { networkIdOf } from "../src/backfill/network.js"
import { startSimulator } from "../src/simulator/index.js"

const [blocksArg, meanArg, epochLengthArg, cachePath] = process.argv.slice(2)
const blocks = Number(blocksArg ?? 12_000)
const epochLength = Number(epochLengthArg ?? 2_000)
const sim = await startSimulator({
  port: 0,
  network: "custom",
  epochLength,
  activeSlotsCoefficient: 0.5,
  securityParameter: 100,
  initialBlocks: blocks + Math.ceil(epochLength * 0.5 * 1.5),
  meanBlockBytes: Number(meanArg ?? 14_000),
  cacheBytes: 8 * 1024 * 1024 * 1024
})
const chain = sim.chain
for (let i = 0; i <= chain.tipIndex; i++) chain.blockBuffer(i)
const target = chain.currentEpoch() - 1
const rows: Array<EpochRow> = []
let total = 0
let bytes = 0
for (let e = 0; e <= target; e++) {
  const info = chain.epochInfo(e)!
  rows.push({
    epoch: e,
    startHeight: info.firstHeight,
    startSlot: info.first.slot,
    startHash: info.first.id,
    endHeight: info.lastHeight,
    endSlot: info.last.slot,
    endHash: info.last.id,
    blocks: info.blocks
  })
  for (let h = info.firstHeight; h <= info.lastHeight; h++) bytes += chain.blockBuffer(chain.indexOfHeight(h)).length
  total += info.blocks
}
const genesis = chain.genesis.shelley
const network = networkIdOf(genesis.networkMagic, String(genesis.startTime))
if (cachePath !== undefined) writeFileSync(cachePath, renderCache(withNetworkRows(emptyCache(), network, rows)))
process.stdout.write(`${JSON.stringify({ url: sim.url, network, target, blocks: total, bytes })}\n`)
process.on("SIGTERM", () => void sim.stop().then(() => process.exit(0)))
