/** Shared helpers of the refresh tests: temp dirs, simulators, expected rows from the simulator. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { DEFAULT_DATA_DIR, EpochIndex } from "../../src/backfill/epoch-index.js"
import type { EpochRow } from "../../src/backfill/epoch-index-data.js"
import { detectNetwork } from "../../src/backfill/network.js"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"

export const tempDir = (prefix = "hecate-refresh-") =>
  Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), prefix))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

export const simulator = (options: SimulatorOptions) =>
  Effect.acquireRelease(Effect.promise(() => startSimulator({ port: 0, ...options })), (sim) => Effect.promise(() => sim.stop()))

/** ~100 blocks per epoch, k = 20, small blocks: epochs close quickly. */
export const SHORT_EPOCHS: SimulatorOptions = {
  network: "custom",
  epochLength: 200,
  activeSlotsCoefficient: 0.5,
  securityParameter: 20,
  initialBlocks: 700,
  meanBlockBytes: 512
}

/** The simulator's own view of an epoch, as an epoch-index row. */
export const expectedRow = (sim: SimulatorHandle, epoch: number): EpochRow => {
  const row = sim.chain.epochRow(epoch)
  if (row === undefined) throw new Error(`the simulator has no block in epoch ${epoch}`)
  return row
}

/**
 * The last final epoch by the simulator's own data: the last e whose next epoch's first block is
 * at least k below the tip.
 */
export const expectedLastFinal = (sim: SimulatorHandle, k: number): number => {
  const tip = sim.chain.tip()
  if (tip === "origin") return -1
  let last = -1
  for (const info of sim.chain.epochs()) {
    const next = sim.chain.epochInfo(info.epoch + 1)
    if (next !== undefined && next.firstHeight <= tip.height - k) last = info.epoch
  }
  return last
}

/** Ogmios (on the simulator) + the network's EpochIndex with the given data dir and cache. */
export const refreshLayers = (sim: SimulatorHandle, cachePath: string, dataDir = DEFAULT_DATA_DIR) => {
  const ogmios = OgmiosLive.layer({ endpoints: [sim.url], requestTimeout: 30_000 })
  const index = Layer.unwrap(Effect.map(detectNetwork, (network) => EpochIndex.layer({ network, dataDir, cachePath })))
  return Layer.provideMerge(index, ogmios)
}

/** A copy of the shipped CSVs with only the rows up to `lastEpoch` (bytes otherwise untouched). */
export const truncatedCsvCopy = (dir: string, lastEpoch: number) =>
  Effect.promise(async () => {
    for (const name of ["epoch_boundaries.csv", "epoch_blocks.csv"]) {
      const text = await readFile(join(DEFAULT_DATA_DIR, name), "utf8")
      const lines = text.split(/(?<=\n)/) // keep each line's own ending
      const kept = lines.filter((line, i) => i === 0 || Number(line.split(",")[0]) <= lastEpoch)
      await writeFile(join(dir, name), kept.join(""))
    }
  })

export const shippedText = (name: string) => Effect.promise(() => readFile(join(DEFAULT_DATA_DIR, name), "utf8"))
export const textOf = (path: string) => Effect.promise(() => readFile(path, "utf8"))
