/**
 * `npm run bench`: every bench module of bench/, one after the other (they share two cores with
 * the machine: never in parallel), each printing its own figures. Nothing is asserted.
 *
 *   npm run bench                      # all of them
 *   npm run bench -- backfill relay    # only the named ones
 *
 * A module that is a child process of another bench (a server, a client) is not a bench module;
 * any other .ts file in bench/ must be listed here, or the run says so at the end.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { disposeBaselines, runBackfillBench } from "./backfill.js"
import { runChainSyncBench, runLosslessParseBench } from "./chainsync.js"
import { formatConsumerBench, runConsumerBench } from "./consumer.js"
import { runDistributedBench } from "./distributed.js"
import { runEncodeBench } from "./encode.js"
import { formatRelayLatency, runRelayLatencyBench } from "./relay.js"
import { runRelayCatchupBench } from "./relayCatchup.js"
import { formatRelayMemory, runRelayMemoryBench } from "./relayMemory.js"
import { main as runSimulatorBench } from "./simulator.js"

/** The last commit that parsed every block and wrote it out again (the throughput bench's baseline). */
const TEXT_FORWARDING_BASELINE_REF = "900a4f5"

interface Bench {
  readonly name: string
  readonly run: () => Promise<unknown>
}

export const BENCHES: ReadonlyArray<Bench> = [
  { name: "simulator", run: () => runSimulatorBench() },
  {
    name: "chainsync",
    run: async () => {
      await runChainSyncBench()
      runLosslessParseBench()
    }
  },
  {
    name: "relay",
    // the relay CLI, then the floor under it on this machine (a bare client doing one XADD per block)
    run: async () => {
      for (const intervalMs of [5, 50]) {
        for (const bare of [false, true]) console.log(formatRelayLatency(await runRelayLatencyBench({ intervalMs, bare })))
      }
    }
  },
  { name: "relayCatchup", run: () => runRelayCatchupBench() },
  { name: "relayMemory", run: async () => console.log(formatRelayMemory(await runRelayMemoryBench())) },
  { name: "encode", run: async () => runEncodeBench() },
  {
    name: "backfill",
    run: async () => {
      // mainnet-like blocks (14 KB), then late-mainnet ones (60 KB) on fewer blocks
      try {
        await runBackfillBench({ keepBaseline: true })
        await runBackfillBench({ blocks: 30_000, meanBlockBytes: 61_440, keepBaseline: true })
      } finally {
        disposeBaselines()
      }
    }
  },
  {
    // backfill vs sync-only in both wire formats, beside the build before blocks were forwarded
    // from their frame text (docs/backfill.md, "Blocks forwarded from their frame text")
    name: "throughput",
    run: async () => {
      try {
        for (const format of ["hecate", "ogmios"] as const) {
          await runBackfillBench({ blocks: 40_000, concurrencies: [1, 2], baseline: TEXT_FORWARDING_BASELINE_REF, format, keepBaseline: true })
        }
      } finally {
        disposeBaselines()
      }
    }
  },
  { name: "consumer", run: async () => console.log(formatConsumerBench(await runConsumerBench())) },
  { name: "distributed", run: () => runDistributedBench() }
]

/** Scripts spawned by the benches above, and helpers they share: not benches themselves. */
const CHILDREN = new Set(["run", "chainsyncClient", "chainsyncServer", "backfillServer", "backfillSyncOnly", "relaySimulator", "relayCatchupChild", "relayBare", "redis-keys", "first-line"])

const unlisted = (): Array<string> => {
  const dir = fileURLToPath(new URL(".", import.meta.url))
  const names = new Set(BENCHES.map((b) => b.name))
  return readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .map((f) => f.slice(0, -3))
    .filter((n) => !names.has(n) && !CHILDREN.has(n))
}

const main = async () => {
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w))
  if (unknown.length > 0) throw new Error(`unknown bench(es) ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`)
  const selected = wanted.length === 0 ? BENCHES : BENCHES.filter((b) => wanted.includes(b.name))
  const failures: Array<string> = []
  for (const bench of selected) {
    console.log(`\n=== ${bench.name} ===`)
    const started = performance.now()
    try {
      await bench.run()
    } catch (error) {
      failures.push(bench.name)
      console.error(`${bench.name} failed:`, error)
    }
    console.log(`(${bench.name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`)
  }
  const missing = unlisted()
  if (missing.length > 0) console.log(`\nnot wired into bench/run.ts: ${missing.join(", ")}`)
  if (failures.length > 0) {
    console.error(`\nfailed: ${failures.join(", ")}`)
    process.exit(1)
  }
  process.exit(0)
}

await main()
