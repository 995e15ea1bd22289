/**
 * Serving throughput of the simulator: a bare WebSocket client that only counts frames pulls a
 * chain with 100 nextBlock requests in flight (as the official client does). Pass 1 includes
 * block generation (cold cache); pass 2 serves cached frames. Figures are printed, never asserted.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/simulator.js [blocks] [meanBlockBytes]
 */
import { pathToFileURL } from "node:url"
import { WebSocket } from "ws"
import { startSimulator } from "../src/simulator/index.js"

const NEXT = JSON.stringify({ jsonrpc: "2.0", method: "nextBlock" })

const pull = (url: string, blocks: number, inFlight: number) =>
  new Promise<{ ms: number; bytes: number; frames: number }>((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 })
    let frames = 0
    let bytes = 0
    let sent = 0
    const total = blocks + 1 // + the initial backward to origin
    const t0 = performance.now()
    ws.on("open", () => {
      for (; sent < Math.min(inFlight, total); sent++) ws.send(NEXT)
    })
    ws.on("message", (data: Buffer) => {
      frames++
      bytes += data.length
      if (sent < total) {
        ws.send(NEXT)
        sent++
      }
      if (frames === total) {
        const ms = performance.now() - t0
        ws.close()
        resolve({ ms, bytes, frames })
      }
    })
    ws.on("error", reject)
  })

export const main = async (blocks = 10_000, meanBlockBytes = 30_000) => {
  const sim = await startSimulator({ port: 0, initialBlocks: blocks, meanBlockBytes, cacheBytes: 1024 * 1024 * 1024 })
  try {
    for (const pass of ["cold (generating)", "warm (cached frames)", "warm (cached frames)"]) {
      const { ms, bytes, frames } = await pull(sim.url, blocks, 100)
      console.log(
        `simulator ${pass}: ${frames - 1} blocks, ${(bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s -> ` +
          `${Math.round(((frames - 1) / ms) * 1000)} blocks/s, ${((bytes / 1e6 / ms) * 1000).toFixed(1)} MB/s (mean frame ${Math.round(bytes / frames)} B)`
      )
    }
    const stats = sim.stats()
    console.log(`simulator: ${stats.blocksGenerated} blocks generated, cache ${(stats.cacheBytes / 1e6).toFixed(0)} MB`)
  } finally {
    await sim.stop()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, mean] = process.argv.slice(2).map(Number)
  await main(blocks || undefined, mean || undefined)
}
