/**
 * Relay catch-up against the backfill, on one simulator chain, in one run: the backfill at
 * concurrency 1 (the CLI, as bench/backfill.ts runs it) beside the relay catching up from origin,
 * three ways: the library relay grouping the chain-sync messages queued behind its writes (the
 * default), the same relay with one message per write (`maxBatchOps: 1`, the relay before it
 * grouped), and the CLI's `relay --from origin`. Rounds alternate the order of the four passes, so
 * no side always runs on the warmer machine; a ratio is read within a round, then the median taken.
 *
 * - The simulator is its own process with every frame generated first (bench/backfillServer.ts).
 * - The backfill's rate counts the finalized epochs' blocks, timed from "Backfilling epochs" to
 *   "Relayed epochs"; a relay's counts every block to the tip, timed from its first committed
 *   write (library) or its "following" line (CLI) to the write that applies the tip.
 * - Redis is REDIS_URL (default 127.0.0.1:6379) under throwaway prefixes, deleted after each pass.
 *
 * Figures are printed, never asserted. Target: the grouped relay ≥ 0.95× the backfill at concurrency 1.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/relayCatchup.js [blocks] [meanBlockBytes] [rounds]
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Redis } from "ioredis"
import { backfillRun, MAIN, type ServerInfo, watchRss } from "./backfill.js"
import { firstLine } from "./first-line.js"
import { deleteByPrefix } from "./redis-keys.js"

export interface RelayCatchupOptions {
  /** blocks in finalized epochs, at least (default 30 000) */
  readonly blocks?: number
  /** mean block JSON size (default 14 000 bytes) */
  readonly meanBlockBytes?: number
  /** rounds of the four passes (default 3) */
  readonly rounds?: number
  readonly redisUrl?: string
}

export interface RelayCatchupRound {
  readonly backfill: number
  readonly grouped: number
  readonly perMessage: number
  readonly cli: number
  readonly groupedWrites: number
  readonly perMessageWrites: number
  readonly messages: number
  readonly cliPeakRssMb: number
  readonly cliWrites: number
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The child's result line (its log lines go to stdout too). */
const resultLine = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.on("line", (line) => {
      if (!line.startsWith("{\"seconds\"")) return
      rl.close()
      resolve(line)
    })
    child.once("exit", (code) => reject(new Error(`relay child exited with ${code}`)))
  })

/** The library relay in a child process; resolves with its blocks/s to height `target`. */
const libraryRelay = async (url: string, redisUrl: string, redis: Redis, target: number, maxBatchOps: number) => {
  const prefix = `hecate-bench:${randomBytes(4).toString("hex")}:`
  const child = spawn(process.execPath, [here("./relayCatchupChild.js"), url, redisUrl, prefix, String(target), String(maxBatchOps)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, HECATE_ENV_FILE: "/dev/null", NO_COLOR: "1" }
  })
  try {
    const r = JSON.parse(await resultLine(child)) as { seconds: number; writes: number; messages: number }
    return { rate: (target + 1) / r.seconds, writes: r.writes, messages: r.messages }
  } finally {
    child.kill("SIGKILL")
    await deleteByPrefix(redis, prefix)
  }
}

/** `hecate relay --from origin` (the built CLI); blocks/s from its "following" line to the window reaching `target`. */
const cliRelay = async (url: string, redisUrl: string, redis: Redis, target: number) => {
  const prefix = `hecate-bench:${randomBytes(4).toString("hex")}:`
  const child = spawn(process.execPath, [MAIN, "relay", "--endpoint", url, "--from", "origin", "--redis-prefix", prefix, "--no-refresh"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, REDIS_URL: redisUrl, HECATE_ENV_FILE: "/dev/null", NO_COLOR: "1" }
  })
  const rss = watchRss(child.pid!)
  let started = 0
  let stderr = ""
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString()
    if (started === 0 && /following \S+ from/.test(stderr)) started = performance.now()
  })
  let exited = false
  child.once("exit", () => void (exited = true))
  try {
    for (;;) {
      if (exited) throw new Error(`relay exited early\n${stderr.slice(-2000)}`)
      const top = await redis.lindex(`${prefix}window`, -1)
      if (top !== null && Number(top.split(" ")[0]) >= target && started > 0) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const rate = (target + 1) / ((performance.now() - started) / 1000)
    return { rate, peakRssMb: rss.peakMb(), writes: Number(await redis.hget(`${prefix}metrics`, "writes")) }
  } finally {
    rss.stop()
    child.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 300))
    child.kill("SIGKILL")
    await deleteByPrefix(redis, prefix)
  }
}

export const runRelayCatchupBench = async (options: RelayCatchupOptions = {}): Promise<ReadonlyArray<RelayCatchupRound>> => {
  const blocks = options.blocks ?? 30_000
  const meanBlockBytes = options.meanBlockBytes ?? 14_000
  const rounds = options.rounds ?? 3
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
  const dir = mkdtempSync(join(tmpdir(), "hecate-bench-catchup-"))
  const cachePath = join(dir, "epoch_cache.json")
  const server = spawn(process.execPath, ["--max-old-space-size=8192", here("./backfillServer.js"), String(blocks), String(meanBlockBytes), "10000", cachePath], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const redis = new Redis(redisUrl)
  try {
    const info = JSON.parse(await firstLine(server)) as ServerInfo & { readonly tipHeight?: number }
    // the chain's tip height: the relay follows every block, the backfill the finalized epochs
    const tip = await (async () => {
      const { default: WebSocket } = await import("ws")
      const ws = new WebSocket(info.url)
      await new Promise((r) => ws.once("open", r))
      ws.send(JSON.stringify({ jsonrpc: "2.0", method: "queryNetwork/blockHeight", id: 1 }))
      const reply = await new Promise<string>((r) => ws.once("message", (d) => r(String(d))))
      ws.close()
      return Number((JSON.parse(reply) as { result: number }).result)
    })()
    console.log(
      `relayCatchup: backfill of ${info.blocks} blocks (${info.epochs.length} finalized epochs) vs relay --from origin to the tip (height ${tip}), ` +
        `mean ${(info.bytes / info.blocks / 1024).toFixed(1)} KB; ${rounds} rounds, alternating order`
    )
    const out: Array<RelayCatchupRound> = []
    for (let r = 0; r < rounds; r++) {
      const figures: Partial<Record<"backfill" | "grouped" | "perMessage" | "cli", number>> = {}
      let groupedWrites = 0
      let perMessageWrites = 0
      let messages = 0
      let cliPeakRssMb = 0
      let cliWrites = 0
      const passes: Array<() => Promise<void>> = [
        async () => {
          const b = await backfillRun(info, 1, cachePath, redis, redisUrl)
          figures.backfill = info.blocks / b.seconds
        },
        async () => {
          const g = await libraryRelay(info.url, redisUrl, redis, tip, 256)
          figures.grouped = g.rate
          groupedWrites = g.writes
          messages = g.messages
        },
        async () => {
          const p = await libraryRelay(info.url, redisUrl, redis, tip, 1)
          figures.perMessage = p.rate
          perMessageWrites = p.writes
        },
        async () => {
          const c = await cliRelay(info.url, redisUrl, redis, tip)
          figures.cli = c.rate
          cliPeakRssMb = c.peakRssMb
          cliWrites = c.writes
        }
      ]
      for (let i = 0; i < passes.length; i++) await passes[(i + r) % passes.length]!()
      const row: RelayCatchupRound = {
        backfill: figures.backfill!,
        grouped: figures.grouped!,
        perMessage: figures.perMessage!,
        cli: figures.cli!,
        groupedWrites,
        perMessageWrites,
        messages,
        cliPeakRssMb,
        cliWrites
      }
      out.push(row)
      console.log(
        `  round ${r + 1}: backfill c=1 ${row.backfill.toFixed(0)} b/s | relay grouped ${row.grouped.toFixed(0)} b/s (${(row.grouped / row.backfill).toFixed(2)}×, ` +
          `${row.groupedWrites} writes for ${row.messages} messages) | one message per write ${row.perMessage.toFixed(0)} b/s ` +
          `(${(row.perMessage / row.backfill).toFixed(2)}×, ${row.perMessageWrites} writes) | CLI relay --from origin ${row.cli.toFixed(0)} b/s ` +
          `(${(row.cli / row.backfill).toFixed(2)}×, ${row.cliWrites} writes, peak RSS ${row.cliPeakRssMb.toFixed(0)} MiB)`
      )
    }
    const ratio = (f: (r: RelayCatchupRound) => number) => median(out.map((r) => f(r) / r.backfill)).toFixed(2)
    console.log("relay catch-up vs backfill at concurrency 1 (median of rounds; target ≥ 0.95×)")
    console.log("  backfill b/s | one message per write (baseline) b/s  ratio | grouped b/s  ratio | CLI relay b/s  ratio")
    console.log(
      `  ${median(out.map((r) => r.backfill)).toFixed(0).padStart(12)} | ${median(out.map((r) => r.perMessage)).toFixed(0).padStart(36)} ${ratio((r) => r.perMessage).padStart(6)} | ` +
        `${median(out.map((r) => r.grouped)).toFixed(0).padStart(11)} ${ratio((r) => r.grouped).padStart(6)} | ${median(out.map((r) => r.cli)).toFixed(0).padStart(13)} ${ratio((r) => r.cli).padStart(6)}`
    )
    return out
  } finally {
    server.kill("SIGTERM")
    redis.disconnect()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, mean, rounds] = process.argv.slice(2)
  await runRelayCatchupBench({
    ...(blocks ? { blocks: Number(blocks) } : {}),
    ...(mean ? { meanBlockBytes: Number(mean) } : {}),
    ...(rounds ? { rounds: Number(rounds) } : {})
  })
  process.exit(0)
}
