/**
 * Chain-sync throughput: one connection syncing `blocks` realistic blocks (10-60 KB of JSON) from
 * a local server process (the chain simulator by default), for our chainSync$ (and the Ogmios.chainSync Effect Stream), the
 * official @cardano-ogmios/client chain-sync client, and a bare loop that only receives frames and
 * JSON.parses them (the ceiling). Each client runs in a fresh process, so its peak RSS is its own.
 * Then a micro-bench of src/json/lossless.ts parse vs JSON.parse, on frames with and without
 * integers beyond 2^53.
 *
 *   npx tsc -p tsconfig.bench.json && npx node dist-bench/bench/chainsync.js [blocks] [inFlight] [runs] [simulator|frames]
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { parse } from "../src/json/lossless.js"
import { blockBody } from "./chainsyncServer.js"
import { firstLine } from "./first-line.js"

export type ChainSyncVariant = "bare" | "hecate-rx" | "hecate-stream" | "official"

export interface ChainSyncBenchOptions {
  readonly blocks?: number
  readonly inFlight?: number
  /** runs per variant; the best is reported (the machine is shared) */
  readonly runs?: number
  readonly variants?: ReadonlyArray<ChainSyncVariant>
  /** the project's chain simulator (default), or pre-serialised frames from a minimal server */
  readonly server?: "simulator" | "frames"
}

export interface ChainSyncBenchRow {
  readonly variant: ChainSyncVariant
  readonly blocksPerSecond: number
  readonly mbPerSecond: number
  readonly peakRssMb: number
  readonly seconds: number
  /** client CPU (user + system) per 1000 blocks, best run: robust to load on a shared machine */
  readonly cpuMsPer1000: number
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

export const runChainSyncBench = async (options: ChainSyncBenchOptions = {}): Promise<Array<ChainSyncBenchRow>> => {
  const blocks = options.blocks ?? 20_000
  const inFlight = options.inFlight ?? 100
  const runs = options.runs ?? 3
  const variants = options.variants ?? ["bare", "hecate-rx", "hecate-stream", "official"]
  const serverKind = options.server ?? "simulator"
  const server = spawn(process.execPath, [here("./chainsyncServer.js"), String(blocks), serverKind], { stdio: ["ignore", "pipe", "inherit"] })
  try {
    const info = JSON.parse(await firstLine(server)) as { port: number; avgBlockBytes: number; minBlockBytes: number; maxBlockBytes: number }
    const url = `ws://127.0.0.1:${info.port}`
    console.log(`chain sync from the ${serverKind} server: ${blocks} blocks, ${(info.minBlockBytes / 1024).toFixed(1)}-${(info.maxBlockBytes / 1024).toFixed(1)} KB (avg ${(info.avgBlockBytes / 1024).toFixed(1)} KB) per frame, inFlight ${inFlight}, best of ${runs}`)
    // Round-robin over the variants, best run of each: the machine is shared, load drifts.
    const best = new Map<ChainSyncVariant, ChainSyncBenchRow>()
    for (let r = 0; r < runs; r++) {
      for (const variant of variants) {
        const child = spawn(process.execPath, [here("./chainsyncClient.js"), variant, url, String(blocks), String(inFlight)], { stdio: ["ignore", "pipe", "inherit"] })
        const result = JSON.parse(await firstLine(child)) as { blocks: number; seconds: number; cpuSeconds: number; maxRssMb: number }
        if (result.blocks !== blocks) throw new Error(`${variant}: ${result.blocks} blocks`)
        const row = {
          variant,
          seconds: result.seconds,
          blocksPerSecond: blocks / result.seconds,
          mbPerSecond: (blocks * info.avgBlockBytes) / result.seconds / 1e6,
          peakRssMb: result.maxRssMb,
          cpuMsPer1000: (result.cpuSeconds * 1e6) / blocks
        }
        const previous = best.get(variant)
        if (previous === undefined) best.set(variant, row)
        else {
          best.set(variant, {
            ...(row.seconds < previous.seconds ? row : previous),
            cpuMsPer1000: Math.min(row.cpuMsPer1000, previous.cpuMsPer1000),
            peakRssMb: Math.max(row.peakRssMb, previous.peakRssMb)
          })
        }
      }
    }
    const rows = variants.map((v) => best.get(v)!)
    const bare = rows.find((r) => r.variant === "bare")
    const pct = (x: number) => `${x.toFixed(0)} %`.padStart(9)
    console.log("variant         blocks/s     MB/s   peak RSS MB   vs bare   CPU ms/1k blocks   vs bare (CPU)")
    for (const r of rows) {
      console.log(
        `${r.variant.padEnd(14)} ${r.blocksPerSecond.toFixed(0).padStart(9)} ${r.mbPerSecond.toFixed(1).padStart(8)} ${r.peakRssMb.toFixed(0).padStart(13)} ${bare ? pct((100 * r.blocksPerSecond) / bare.blocksPerSecond) : ""} ${r.cpuMsPer1000.toFixed(0).padStart(18)} ${bare ? pct((100 * bare.cpuMsPer1000) / r.cpuMsPer1000).padStart(15) : ""}`
      )
    }
    return rows
  } finally {
    server.kill()
  }
}

export interface ParseBenchRow {
  readonly frame: string
  readonly parser: "JSON.parse" | "lossless.parse"
  readonly mbPerSecond: number
}

/** lossless.parse vs JSON.parse on realistic frames, with and without big integers. */
export const runLosslessParseBench = (iterations = 100): Array<ParseBenchRow> => {
  const frame = (big: boolean) =>
    `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":{"type":"praos","era":"babbage","id":"${"a".repeat(64)}","ancestor":"${"b".repeat(64)}","height":1,"slot":20,${blockBody(40_000, big)}},"tip":{"slot":20,"id":"${"a".repeat(64)}","height":1}},"id":null}`
  const frames = { "40 KB, no big ints": frame(false), "40 KB, big ints": frame(true) }
  const rows: Array<ParseBenchRow> = []
  const parsers = [["JSON.parse", JSON.parse], ["lossless.parse", parse]] as const
  for (const [name, text] of Object.entries(frames)) {
    // alternate the parsers over several rounds and keep each one's best: JIT warm-up and load
    // on a shared machine otherwise decide the order of the figures
    const best = new Map<string, number>()
    for (let round = 0; round < 5; round++) {
      for (const [parser, fn] of parsers) {
        for (let i = 0; i < 20; i++) fn(text)
        const start = performance.now()
        for (let i = 0; i < iterations; i++) fn(text)
        const mbPerSecond = (text.length * iterations) / ((performance.now() - start) / 1000) / 1e6
        best.set(parser, Math.max(best.get(parser) ?? 0, mbPerSecond))
      }
    }
    for (const [parser] of parsers) rows.push({ frame: name, parser, mbPerSecond: best.get(parser)! })
  }
  console.log("frame                 parser            MB/s")
  for (const r of rows) console.log(`${r.frame.padEnd(21)} ${r.parser.padEnd(15)} ${r.mbPerSecond.toFixed(0).padStart(6)}`)
  return rows
}

if (process.argv[1]?.endsWith("chainsync.js")) {
  const [blocks, inFlight, runs] = process.argv.slice(2, 5).map(Number)
  const server = process.argv[5] === "frames" ? "frames" : "simulator"
  await runChainSyncBench({
    ...(blocks ? { blocks } : {}),
    ...(inFlight ? { inFlight } : {}),
    ...(runs ? { runs } : {}),
    server
  })
  runLosslessParseBench()
}
