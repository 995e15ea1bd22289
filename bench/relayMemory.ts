/**
 * Relay Redis memory: how much Redis holds per byte of block the relay must keep at steady state.
 * The simulator (bench/relaySimulator.ts, its own process) forges a chain to catch up on, then
 * blocks one every 5 ms (one relay write each, as at the tip) until `--retain R` writes have been
 * trimmed past; the relay (the built CLI, `relay --from origin --retain R`) follows it into a
 * private redis-server (so no other client's keys move `used_memory`), and then:
 *
 *   held bytes  = the `block` fields of the apply entries `events` holds (what the consumers may
 *                 still need: the retained writes and the window)
 *   Redis bytes = INFO memory `used_memory` after the run − before it
 *   ratio       = Redis bytes / held bytes (target ≤ 1.25)
 *
 * A baseline build (the commit before the thin `final` entries) follows the same simulator at the
 * same time into its own redis-server, so both see the same chain. Figures are printed, never asserted.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/relayMemory.js [catchUp] [live] [retain] [meanBlockBytes] [baseline ref|none]
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Redis } from "ioredis"
import { buildBaseline } from "./backfill.js"

/** The last commit whose `final` entries carried a copy of the block. */
export const RELAY_MEMORY_BASELINE_REF = "5cfb675"

export interface RelayMemoryRow {
  readonly build: string
  readonly blocks: number
  readonly eventsEntries: number
  readonly finalEntries: number
  readonly heldMb: number
  readonly redisMb: number
  readonly ratio: number
  readonly seconds: number
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const MAIN = here("../../dist/main.js") // the shipped command line (`npm run build`)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

/** Waits for a child's stdout line matching a pattern; lines nobody waited for yet are kept for later waiters. */
const lines = (child: ChildProcess) => {
  const rl = createInterface({ input: child.stdout! })
  const waiters: Array<{ match: RegExp; resolve: (m: RegExpMatchArray) => void }> = []
  const unclaimed: Array<string> = []
  rl.on("line", (line) => {
    for (const [i, w] of waiters.entries()) {
      const m = w.match.exec(line)
      if (m) {
        waiters.splice(i, 1)
        w.resolve(m)
        return
      }
    }
    unclaimed.push(line)
    if (unclaimed.length > 100) unclaimed.shift()
  })
  return (match: RegExp) =>
    new Promise<RegExpMatchArray>((resolve) => {
      for (const [i, line] of unclaimed.entries()) {
        const m = match.exec(line)
        if (m) {
          unclaimed.splice(i, 1)
          return resolve(m)
        }
      }
      waiters.push({ match, resolve })
    })
}

const usedMemory = async (redis: Redis): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1])

/** Sum of the `block` fields of the apply entries of a stream, and its entry count. */
const heldBytes = async (redis: Redis, key: string): Promise<{ bytes: number; entries: number }> => {
  let bytes = 0
  let entries = 0
  let from = "-"
  for (;;) {
    const page = (await redis.xrange(key, from, "+", "COUNT", 500)) as Array<[string, Array<string>]>
    for (const [, f] of page) {
      entries++
      const type = f[f.indexOf("type") + 1]
      const block = f.indexOf("block")
      if (type === "apply" && block >= 0) bytes += Buffer.byteLength(f[block + 1]!)
    }
    if (page.length < 500) return { bytes, entries }
    from = `(${page.at(-1)![0]}`
  }
}

interface Target {
  readonly build: string
  readonly main: string
  readonly redis: Redis
  readonly redisUrl: string
  readonly dispose: () => void
}

/** A private redis-server (no persistence) and a client to it. */
const privateRedis = async (): Promise<{ redis: Redis; url: string; dispose: () => void }> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "hecate-bench-relay-memory-"))
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" })
  const url = `redis://127.0.0.1:${port}/0`
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null })
  redis.on("error", () => {}) // refused until the server listens: retried below
  for (let i = 0; ; i++) {
    try {
      await redis.connect()
      break
    } catch (error) {
      if (i > 100) throw error
      redis.disconnect()
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    redis,
    url,
    dispose: () => {
      redis.disconnect()
      server.kill("SIGTERM")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const PREFIX = "bench-relay-memory:"

const startRelay = (t: Target, url: string, retain: number) => {
  const child = spawn(process.execPath, [t.main, "relay", "--endpoint", url, "--from", "origin", "--redis-prefix", PREFIX, "--retain", String(retain), "--depth", "100"], {
    env: { ...process.env, REDIS_URL: t.redisUrl, NO_COLOR: "1", HECATE_ENV_FILE: "/dev/null" },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  return {
    atHeight: async (height: number) => {
      for (;;) {
        const last = await t.redis.lindex(`${PREFIX}window`, -1)
        if (last !== null && Number(last.split(" ")[0]) >= height) return
        if (child.exitCode !== null) throw new Error(`relay (${t.build}) exited ${child.exitCode}\n${stderr}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    stop: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
}

export const runRelayMemoryBench = async (options: { catchUp?: number; live?: number; retain?: number; meanBlockBytes?: number; baseline?: string } = {}): Promise<Array<RelayMemoryRow>> => {
  const catchUp = options.catchUp ?? 2_000
  const live = options.live ?? 3_000
  const retain = options.retain ?? 1_000
  const meanBlockBytes = options.meanBlockBytes ?? 16_384
  const baselineRef = options.baseline ?? RELAY_MEMORY_BASELINE_REF
  const targets: Array<Target> = []
  const sim = spawn(process.execPath, [here("./relaySimulator.js"), String(meanBlockBytes)], { stdio: ["pipe", "pipe", "inherit"] })
  const next = lines(sim)
  try {
    if (baselineRef !== "none") {
      const b = buildBaseline(baselineRef)
      const r = await privateRedis()
      targets.push({ build: `baseline ${baselineRef}`, main: b.main, redis: r.redis, redisUrl: r.url, dispose: () => (r.dispose(), b.dispose()) })
    }
    const r = await privateRedis()
    targets.push({ build: "new", main: MAIN, redis: r.redis, redisUrl: r.url, dispose: r.dispose })
    const url = (await next(/^url (\S+)/))[1]!
    const start = Number((await next(/^tip (\d+)/))[1])
    // a chain to catch up on (batched writes), then blocks one at a time at the tip (one write each)
    const forged = next(new RegExp(`^forged ${start + catchUp} `))
    sim.stdin!.write(`forge ${catchUp}\n`)
    await forged
    const before = await Promise.all(targets.map((t) => usedMemory(t.redis)))
    const started = performance.now()
    const relays = targets.map((t) => startRelay(t, url, retain))
    await Promise.all(relays.map((r) => r.atHeight(start + catchUp)))
    const done = next(/^done$/)
    sim.stdin!.write(`run ${live} 5\n`)
    await done
    const tip = start + catchUp + live
    await Promise.all(relays.map((r) => r.atHeight(tip)))
    const seconds = (performance.now() - started) / 1000
    await Promise.all(relays.map((r) => r.stop()))
    const rows: Array<RelayMemoryRow> = []
    for (const [i, t] of targets.entries()) {
      const after = await usedMemory(t.redis)
      const events = await heldBytes(t.redis, `${PREFIX}events`)
      rows.push({
        build: t.build,
        blocks: catchUp + live,
        eventsEntries: events.entries,
        finalEntries: await t.redis.xlen(`${PREFIX}final`),
        heldMb: events.bytes / 1e6,
        redisMb: (after - before[i]!) / 1e6,
        ratio: (after - before[i]!) / events.bytes,
        seconds
      })
    }
    return rows
  } finally {
    sim.stdin!.end("quit\n")
    for (const t of targets) t.dispose()
  }
}

export const formatRelayMemory = (rows: ReadonlyArray<RelayMemoryRow>, retain = 1_000): string => {
  const head = `relay Redis memory: ${rows[0]?.blocks ?? 0} blocks relayed (caught up, then one per write at the tip), --retain ${retain}, depth 100 ` +
    "(target: Redis ≤ 1.25× the block bytes held)"
  const table = [
    "| build | events entries | final entries | block bytes held | Redis used_memory Δ | ratio | relay to tip |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.build} | ${r.eventsEntries} | ${r.finalEntries} | ${r.heldMb.toFixed(1)} MB | ${r.redisMb.toFixed(1)} MB | ${r.ratio.toFixed(2)}× | ${r.seconds.toFixed(1)} s |`
    )
  ]
  return [head, ...table].join("\n")
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [catchUp, live, retain, bytes] = process.argv.slice(2, 6).map(Number)
  const baseline = process.argv[6]
  const r = retain || 1_000
  console.log(formatRelayMemory(await runRelayMemoryBench({ catchUp: catchUp || 2_000, live: live || 3_000, retain: r, meanBlockBytes: bytes || 16_384, ...(baseline ? { baseline } : {}) }), r))
  process.exit(0)
}
