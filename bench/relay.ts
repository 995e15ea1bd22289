/**
 * Relay latency: from the chain simulator producing a block (`forge()`) to a consumer blocked on
 * `XREAD BLOCK 0` on the relay's `events` stream receiving its apply entry. Three processes, as
 * deployed: the simulator (bench/relaySimulator.ts, standing in for the node/Ogmios), the relay as
 * the real CLI (`node dist/main.js relay`, so `npm run build` first) and the consumer, this process.
 * Latency = the consumer's receive wall-clock ms - the simulator's forge wall-clock ms for the same
 * height (performance.timeOrigin + performance.now() on both sides, one host), and the same from
 * the moment the simulator handed the block's frame to the relay's socket: the relay's own latency,
 * without the simulator generating the block (a node serves a block it already holds). Redis is the real
 * server (REDIS_URL, default 127.0.0.1:6379) under a throwaway prefix. Figures are printed, never
 * asserted.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/relay.js [blocks] [intervalMs] [meanBlockBytes]
 *
 * Two builds compared on a shared machine: load changes from minute to minute, so the builds run in
 * alternation, round after round, each round measuring every build once per interval:
 *
 *   node dist-bench/bench/relay.js --cli /tmp/old/dist/main.js --cli dist/main.js --rounds 3 [blocks] [intervalMs]
 *
 * (`--cli bare` runs the floor in the relay's place: bench/relayBare.ts, one XADD per block.)
 *
 * (HECATE_RELAY_CLI=<path to main.js> picks the CLI of `npm run bench -- relay`.) The load average
 * is printed with every figure.
 *
 * `runRelayLatencyBench(options)` is the entry point for bench/run.ts.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createWriteStream, existsSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Redis as IORedis } from "ioredis"

export interface RelayLatencyOptions {
  /** measured blocks (default 1000) */
  readonly blocks?: number
  /** ms between produced blocks (default 5) */
  readonly intervalMs?: number
  /** mean block size (default 16 KiB) */
  readonly meanBlockBytes?: number
  /** blocks produced before measuring (default 50) */
  readonly warmup?: number
  readonly redisUrl?: string
  /** the relay CLI to run (default HECATE_RELAY_CLI, else this checkout's dist/main.js) */
  readonly cli?: string
  /**
   * Run the floor instead of the relay: bench/relayBare.ts, a bare chain-sync client doing one
   * XADD per block (no reorg handling, no cursor, no atomic script), in the relay's place.
   */
  readonly bare?: boolean
  /** node flags of the relay process, e.g. ["--trace-gc"] (default HECATE_RELAY_NODE_ARGS, split on spaces) */
  readonly relayNodeArgs?: ReadonlyArray<string>
  /** a file that receives the relay process's stdout and stderr lines (default HECATE_RELAY_LOG) */
  readonly relayLog?: string
  /** a file that receives one `height forgedWallMs latencyMs` line per measured block (default HECATE_RELAY_SAMPLES) */
  readonly samples?: string
}

/** Quantiles of one latency distribution (ms). */
export interface LatencyFigures {
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

export interface RelayLatencyResult extends LatencyFigures {
  readonly blocks: number
  readonly intervalMs: number
  readonly meanBlockBytes: number
  /** from the frame handed to the relay's socket to the consumer */
  readonly fromSent: LatencyFigures
  /** the relay CLI measured */
  readonly cli: string
  /** the 1-minute load average when the run ended */
  readonly load: number
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const wallMs = () => performance.timeOrigin + performance.now()

/** A child process whose stdout lines are awaited one by one; the last stderr lines kept for errors. */
const child = (name: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) => {
  const proc: ChildProcess = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } })
  const tail: Array<string> = []
  const keep = (line: string) => {
    tail.push(line)
    if (tail.length > 20) tail.shift()
  }
  createInterface({ input: proc.stderr! }).on("line", keep)
  const exited = new Promise<never>((_, reject) =>
    proc.once("exit", (code, signal) => reject(new Error(`${name} exited (${signal ?? code}):\n${tail.join("\n")}`)))
  )
  exited.catch(() => undefined)
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
    proc.kill("SIGTERM")
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3000)
    await gone
    clearTimeout(timer)
  }
  return { proc, tail, keep, exited, stop }
}

export const runRelayLatencyBench = async (options: RelayLatencyOptions = {}): Promise<RelayLatencyResult> => {
  const blocks = options.blocks ?? 1000
  const intervalMs = options.intervalMs ?? 5
  const meanBlockBytes = options.meanBlockBytes ?? 16_384
  const warmup = options.warmup ?? 50
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
  const prefix = `hecate-bench:${randomBytes(6).toString("hex")}:`
  const main = resolve(options.cli ?? process.env["HECATE_RELAY_CLI"] ?? fileURLToPath(new URL("../../dist/main.js", import.meta.url)))
  if (!existsSync(main)) throw new Error(`${main} not found: run \`npm run build\` first (the relay runs as the CLI)`)

  // the simulator, in its own process; forge times arrive as `forged <height> <wall-ms>` lines
  const sim = child("relaySimulator", [fileURLToPath(new URL("./relaySimulator.js", import.meta.url)), String(meanBlockBytes)])
  const forged = new Map<number, number>()
  const sent = new Map<number, number>()
  let url = ""
  let tipHeight = -1
  let simDone: () => void = () => undefined
  const simFinished = new Promise<void>((resolve) => (simDone = resolve))
  let simReady: () => void = () => undefined
  const simStarted = new Promise<void>((resolve) => (simReady = resolve))
  createInterface({ input: sim.proc.stdout! }).on("line", (line) => {
    const [kind, a, b] = line.split(" ")
    if (kind === "forged") forged.set(Number(a), Number(b))
    else if (kind === "sent") sent.set(Number(a), Number(b))
    else if (kind === "url") url = a!
    else if (kind === "tip") {
      tipHeight = Number(a)
      simReady()
    } else if (kind === "done") simDone()
    else sim.keep(line)
  })

  const consumer = new IORedis(redisUrl)
  const admin = new IORedis(redisUrl)
  let relayProc: ReturnType<typeof child> | undefined
  const received = new Map<number, number>()
  try {
    await Promise.race([simStarted, sim.exited])

    // the relay, as deployed: the CLI in its own process (or the bare floor, which starts at the tip)
    const nodeArgs = options.relayNodeArgs ?? (process.env["HECATE_RELAY_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")
    const relayChild = options.bare === true
      ? child("relayBare", [...nodeArgs, fileURLToPath(new URL("./relayBare.js", import.meta.url)), url, redisUrl, prefix])
      : child(
        "relay",
        [...nodeArgs, main, "relay", "--endpoint", url, "--from", "origin", "--redis-prefix", prefix, "--depth", "10"],
        { REDIS_URL: redisUrl }
      )
    relayProc = relayChild
    let following: () => void = () => undefined
    const bareFollowing = new Promise<void>((resolve) => (following = resolve))
    createInterface({ input: relayChild.proc.stdout! }).on("line", (line) => {
      if (line === "following") following()
      relayChild.keep(line)
    })
    const relayLog = options.relayLog ?? process.env["HECATE_RELAY_LOG"]
    if (relayLog !== undefined) {
      const log = createWriteStream(relayLog)
      for (const stream of [relayChild.proc.stdout!, relayChild.proc.stderr!]) createInterface({ input: stream }).on("line", (line) => log.write(`${line}\n`))
      relayChild.proc.once("exit", () => log.end())
    }

    const total = warmup + blocks
    const lastHeight = tipHeight + total
    // the consumer: XREAD BLOCK 0 from the start of the stream, stamping each apply on arrival
    let stop = false
    const reader = (async () => {
      let last = "0-0"
      while (!stop) {
        const reply = (await consumer.xread("BLOCK", 0, "STREAMS", `${prefix}events`, last)) as
          | Array<[string, Array<[string, Array<string>]>]>
          | null
        const now = wallMs()
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          last = id
          let type = ""
          let height = -1
          for (let i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i] === "type") type = fields[i + 1]!
            else if (fields[i] === "height") height = Number(fields[i + 1])
          }
          if (type === "apply" && !received.has(height)) received.set(height, now)
          if (type === "apply" && height >= lastHeight) stop = true
        }
      }
    })()
    // wait for the relay to reach the initial tip, then have the simulator produce at a steady interval
    const caughtUp = (async () => {
      // the bare client starts at the tip: ready once its nextBlock requests are out
      if (options.bare === true) return bareFollowing
      for (;;) {
        const w = await admin.lrange(`${prefix}window`, -1, -1)
        if (Number(w[0]?.split(" ")[0] ?? -1) >= tipHeight) return
        await sleep(10)
      }
    })()
    await Promise.race([caughtUp, relayChild.exited, sim.exited])
    sim.proc.stdin!.write(`run ${total} ${intervalMs}\n`)
    await Promise.race([Promise.all([reader, simFinished]), relayChild.exited, sim.exited])
  } finally {
    consumer.disconnect()
    sim.proc.stdin!.end("quit\n")
    await Promise.all([relayProc?.stop(), sim.stop()])
    let cursor = "0"
    do {
      const [nextCursor, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
      cursor = nextCursor
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== "0")
    admin.disconnect()
  }
  const latencies: Array<number> = []
  const fromSent: Array<number> = []
  const lines: Array<string> = []
  for (const [height, at] of received) {
    const t0 = forged.get(height)
    if (t0 !== undefined && height > tipHeight + warmup) {
      latencies.push(at - t0)
      const t1 = sent.get(height)
      if (t1 !== undefined) fromSent.push(at - t1)
      lines.push(`${height} ${t0.toFixed(3)} ${(at - t0).toFixed(3)} ${t1 === undefined ? "-" : (at - t1).toFixed(3)}`)
    }
  }
  const samples = options.samples ?? process.env["HECATE_RELAY_SAMPLES"]
  if (samples !== undefined) writeFileSync(samples, `${lines.join("\n")}\n`)
  return {
    blocks: latencies.length,
    intervalMs,
    meanBlockBytes,
    ...figures(latencies),
    fromSent: figures(fromSent),
    cli: options.bare === true ? "bare chain-sync client, one XADD per block (bench/relayBare.ts)" : main,
    load: Math.round(loadavg()[0]! * 1000) / 1000
  }
}

const figures = (latencies: Array<number>): LatencyFigures => {
  const sorted = [...latencies].sort((a, b) => a - b)
  const round = (x: number) => Math.round(x * 1000) / 1000
  return {
    p50Ms: round(quantile(sorted, 0.5)),
    p90Ms: round(quantile(sorted, 0.9)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length))
  }
}

const formatFigures = (f: LatencyFigures) => `p50 ${f.p50Ms} ms, p90 ${f.p90Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms, mean ${f.meanMs} ms`

export const formatRelayLatency = (r: RelayLatencyResult): string =>
  `relay latency (simulator process -> relay CLI process -> XREAD BLOCK consumer), ${r.blocks} blocks of ~${Math.round(r.meanBlockBytes / 1024)} KiB every ${r.intervalMs} ms (load ${r.load}, ${r.cli})\n` +
  `  from the frame sent (the relay's latency): ${formatFigures(r.fromSent)}\n` +
  `  from forge (+ the simulator generating the block): ${formatFigures(r)}`

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const clis: Array<string> = []
  let rounds = 1
  const positional: Array<number> = []
  const args = process.argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cli") clis.push(args[++i]!)
    else if (args[i] === "--rounds") rounds = Number(args[++i])
    else positional.push(Number(args[i]))
  }
  const [blocks, interval, bytes] = positional
  const run = async () => {
    for (let round = 1; round <= rounds; round++) {
      for (const intervalMs of interval ? [interval] : [5, 50]) {
        for (const cli of clis.length > 0 ? clis : [undefined]) {
          const r = await runRelayLatencyBench({
            ...(blocks ? { blocks } : {}),
            intervalMs,
            ...(bytes ? { meanBlockBytes: bytes } : {}),
            ...(cli === undefined ? {} : cli === "bare" ? { bare: true } : { cli })
          })
          console.log(`${rounds > 1 ? `round ${round}: ` : ""}${formatRelayLatency(r)}`)
        }
      }
    }
  }
  run().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    }
  )
}
