/**
 * Backfill throughput: ≥ 100 000 blocks of realistic size (mean 14 KB of JSON) from the simulator
 * into Redis, through the built CLI (`dist/main.js backfill`, so `npm run build` first; a child process whose RSS
 * is sampled from /proc), at concurrency 1, 2 and 4 — against a chain-sync-only pass over the same
 * chain with the same client (`syncEpoch` over OgmiosLive, blocks dropped), at the same concurrency.
 *
 * - The simulator is its own process and has generated every block before the first pass, so it
 *   serves cached frames and block generation is never measured.
 * - Its epoch index is written to a temp HECATE_EPOCH_CACHE, so the backfill does not derive it.
 * - A consumer stand-in registers a group at `$` on each epoch as soon as it is published (after
 *   reading its MEMORY USAGE): the stream then counts as consumed and the producer's cleanup
 *   reclaims it. (A real consumer must create its group at 0 — docs/redis-contract.md; here nobody
 *   reads the data.) Backpressure is off (REDIS_MAX_UNCONSUMED_EPOCHS=1000): a run that met the
 *   limit before the stand-in registered slept a 10 s poll, which timed the poll, not the relay.
 * - The rate is timed from the CLI's "Backfilling epochs" line to its "Relayed epochs" line: the
 *   relay itself, without process start-up and planning (printed separately).
 *
 * - A baseline build (another commit of this repository, built into a temp directory by
 *   `buildBaseline`) runs the same backfill right beside it at each concurrency, alternating which
 *   goes first, so the two columns share the machine's state; a ratio is only read within a run.
 *
 * Figures are printed, never asserted. Targets: the backfill at ≥ 85 % of the sync-only rate at
 * concurrency 1 and 2, peak RSS ≤ 160 MiB at 1, 2 and 4 (≤ 300 MiB with 60–80 KB blocks), flat over
 * the range. "start RSS" is the process's RSS when the relay starts (modules loaded, window
 * planned): the floor under the peak, before any block.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/backfill.js [blocks] [meanBlockBytes] [concurrencies e.g. 1,2,4] [baseline ref|none] [hecate|ogmios]
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Redis } from "ioredis"
import { deleteByPrefix } from "./redis-keys.js"
import { firstLine } from "./first-line.js"

export interface BackfillBenchOptions {
  /** Blocks in the relayed (finalized) epochs, at least (default 100 000). */
  readonly blocks?: number
  /** Mean block JSON size (default 14 000 bytes). */
  readonly meanBlockBytes?: number
  /** Slots per epoch at f = 0.5 (default 10 000: ~5 000 blocks per epoch). */
  readonly epochLength?: number
  readonly concurrencies?: ReadonlyArray<number>
  readonly redisUrl?: string
  /**
   * One more backfill pass at the highest concurrency with V8's old space capped at this many MB
   * (NODE_OPTIONS=--max-old-space-size), to tell heap sizing from live data (default 0 = skip).
   */
  readonly cappedHeapMb?: number
  /**
   * A git ref of this repository to measure beside the working tree's build (default
   * BASELINE_REF, the commit before the backfill's memory work; "none" = no baseline).
   */
  readonly baseline?: string
  /** The CLI's --format (default hecate, the CLI's default). */
  readonly format?: "hecate" | "ogmios"
  /** Keep the baseline build for a later call (the caller disposes of it with buildBaseline(ref).dispose()). */
  readonly keepBaseline?: boolean
}

/**
 * main before batches were staged in parts and the in-flight window shared by the epoch sessions
 * (the figures of 5cfb675 and 081e6bc, the earlier memory work, are in docs/backfill.md).
 */
export const BASELINE_REF = "900a4f5"

export interface BackfillFigures {
  readonly blocksPerSecond: number
  /** rate / sync-only rate at the same concurrency */
  readonly ratio: number
  readonly peakRssMb: number
  readonly startRssMb: number
}

export interface BackfillBenchRow {
  readonly concurrency: number
  readonly syncOnlyBlocksPerSecond: number
  readonly syncOnlyPeakRssMb: number
  readonly blocksPerSecond: number
  readonly mbPerSecond: number
  /** backfill rate / sync-only rate at the same concurrency */
  readonly ratio: number
  readonly peakRssMb: number
  readonly startupSeconds: number
  readonly redisBytesPerEpoch: number
  readonly redisPeakUsedMb: number
  readonly startRssMb: number
  readonly baseline?: BackfillFigures
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
/** The command line as `npm run build` ships it (the bundle of rolldown.config.ts), not the benches' own tsc copy of src/. */
export const MAIN = here("../../dist/main.js")
const REPO = here("../..")

/**
 * Builds commit `ref` of this repository into a temp directory (git archive, the working tree's
 * node_modules, tsc) and returns its main.js and a cleanup.
 */
const built = new Map<string, { main: string; dispose: () => void }>()

/** Removes every baseline build kept with `keepBaseline`. */
export const disposeBaselines = (): void => {
  for (const b of [...built.values()]) b.dispose()
}

export const buildBaseline = (ref: string): { main: string; dispose: () => void } => {
  const known = built.get(ref)
  if (known !== undefined) return known
  const dir = mkdtempSync(join(tmpdir(), "hecate-bench-baseline-"))
  execFileSync("sh", ["-c", `git -C "${REPO}" archive "${ref}" | tar -x -C "${dir}"`], { stdio: ["ignore", "ignore", "inherit"] })
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"))
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")], { stdio: "inherit" })
  // a ref that ships its command line as a bundle builds it as its `npm run build` does
  if (existsSync(join(dir, "rolldown.config.ts"))) {
    execFileSync(process.execPath, [join(REPO, "node_modules/rolldown/bin/cli.mjs"), "-c", "rolldown.config.ts"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] })
  }
  const main = join(dir, "dist/main.js")
  if (!existsSync(main)) throw new Error(`baseline ${ref}: no ${main} after the build`)
  const handle = {
    main,
    dispose: () => {
      built.delete(ref)
      rmSync(dir, { recursive: true, force: true })
    }
  }
  built.set(ref, handle)
  return handle
}

/** Peak RSS of a live process from /proc (VmHWM), sampled until it exits. */
export const watchRss = (pid: number) => {
  let peakKb = 0
  let nowKb = 0
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8")
      const hwm = /VmHWM:\s+(\d+)/.exec(status)
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]))
      const rss = /VmRSS:\s+(\d+)/.exec(status)
      if (rss) nowKb = Number(rss[1])
    } catch {
      // exited
    }
  }
  const timer = setInterval(sample, 50)
  return {
    peakMb: () => peakKb / 1024,
    /** RSS right now (MiB), sampled afresh */
    nowMb: () => {
      sample()
      return nowKb / 1024
    },
    stop: () => {
      sample()
      clearInterval(timer)
    }
  }
}

export interface ServerInfo {
  readonly url: string
  readonly network: string
  readonly target: number
  readonly epochs: ReadonlyArray<{ epoch: number; blocks: number; bytes: number }>
  readonly blocks: number
  readonly bytes: number
  readonly rows: ReadonlyArray<unknown>
}

const syncOnly = async (url: string, concurrency: number, rowsFile: string) => {
  const child = spawn(process.execPath, [here("./backfillSyncOnly.js"), url, String(concurrency), rowsFile], { stdio: ["ignore", "pipe", "inherit"] })
  return JSON.parse(await firstLine(child)) as { blocks: number; seconds: number; maxRssMb: number }
}

export const backfillRun = async (info: ServerInfo, concurrency: number, cachePath: string, redis: Redis, redisUrl: string, nodeOptions = "", main = MAIN, format = "hecate") => {
  const prefix = `hecate-bench:${randomBytes(4).toString("hex")}:`
  const memory: Array<number> = []
  let peakUsed = 0
  let published = -1
  let done = false
  const consumer = (async () => {
    for (;;) {
      const finished = done // one last pass after the producer exited
      const synced = Number((await redis.get(`${prefix}last_synced_epoch`)) ?? -1)
      for (let e = published + 1; e <= synced; e++) {
        const key = `${prefix}epoch:${e}`
        const usage = await redis.memory("USAGE", key, "SAMPLES", "0")
        if (usage !== null) memory.push(Number(usage))
        await redis.xgroup("CREATE", key, "bench", "$").catch(() => undefined)
      }
      published = Math.max(published, synced)
      const used = /used_memory:(\d+)/.exec(await redis.info("memory"))
      if (used) peakUsed = Math.max(peakUsed, Number(used[1]))
      if (finished) break
      await new Promise((r) => setTimeout(r, 40))
    }
  })()
  const spawned = performance.now()
  const child = spawn(
    process.execPath,
    [main, "backfill", "--endpoint", info.url, "--redis-prefix", prefix, "--concurrency", String(concurrency), "--retry-delay", "1", "--format", format],
    {
      // REDIS_MAX_UNCONSUMED_EPOCHS: the consumer stand-in registers each epoch a few ms after it is
      // published, but a run that meets the limit first sleeps a whole 10 s backpressure poll; the
      // bench measures the relay, so it never pauses (Redis holds the window's epochs meanwhile)
      env: {
        ...process.env,
        HECATE_EPOCH_CACHE: cachePath,
        REDIS_URL: redisUrl,
        REDIS_MAX_UNCONSUMED_EPOCHS: "1000",
        NO_COLOR: "1",
        HECATE_ENV_FILE: "/dev/null",
        NODE_OPTIONS: nodeOptions
      },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  const rss = watchRss(child.pid!)
  let relayStarted = 0
  let relayEnded = 0
  let startRss = 0
  let stderr = ""
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString()
    if (relayStarted === 0 && stderr.includes("Backfilling epochs")) {
      relayStarted = performance.now()
      startRss = rss.nowMb()
    }
    if (relayEnded === 0 && stderr.includes("Relayed epochs up to")) relayEnded = performance.now()
  })
  child.stdout!.resume()
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
  rss.stop()
  done = true
  await consumer
  const metrics = await redis.hgetall(`${prefix}metrics`)
  await deleteByPrefix(redis, prefix)
  if (code !== 0 || relayStarted === 0 || relayEnded === 0) throw new Error(`backfill exited ${code}\n${stderr.slice(-3000)}`)
  if (Number(metrics["blocks_total"]) !== info.blocks) throw new Error(`backfill relayed ${metrics["blocks_total"]} blocks, expected ${info.blocks}`)
  return {
    seconds: (relayEnded - relayStarted) / 1000,
    startupSeconds: (relayStarted - spawned) / 1000,
    peakRssMb: rss.peakMb(),
    startRssMb: startRss,
    redisBytesPerEpoch: memory.length > 0 ? memory.reduce((a, b) => a + b, 0) / memory.length : 0,
    redisPeakUsedMb: peakUsed / 1e6,
    purged: Number(metrics["streams_purged_total"] ?? 0)
  }
}


export const runBackfillBench = async (options: BackfillBenchOptions = {}): Promise<Array<BackfillBenchRow>> => {
  const blocks = options.blocks ?? 100_000
  const meanBlockBytes = options.meanBlockBytes ?? 14_000
  const epochLength = options.epochLength ?? 10_000
  const concurrencies = options.concurrencies ?? [1, 2, 4]
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
  const format = options.format ?? "hecate"
  const dir = mkdtempSync(join(tmpdir(), "hecate-bench-backfill-"))
  const cachePath = join(dir, "epoch_cache.json")
  const rowsFile = join(dir, "rows.json")
  const t0 = performance.now()
  const server = spawn(process.execPath, ["--max-old-space-size=8192", here("./backfillServer.js"), String(blocks), String(meanBlockBytes), String(epochLength), cachePath], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const redis = new Redis(redisUrl)
  const baselineRef = options.baseline ?? BASELINE_REF
  const baseline = baselineRef === "none" ? undefined : buildBaseline(baselineRef)
  try {
    const info = JSON.parse(await firstLine(server)) as ServerInfo
    writeFileSync(rowsFile, JSON.stringify(info.rows))
    const sizes = info.epochs.map((e) => e.blocks)
    console.log(
      `backfill: ${info.blocks} blocks in ${info.epochs.length} epochs (${Math.min(...sizes)}–${Math.max(...sizes)} blocks each), ` +
        `${(info.bytes / 1e6).toFixed(0)} MB of block JSON (mean ${(info.bytes / info.blocks / 1024).toFixed(1)} KB); ` +
        `simulator ready in ${((performance.now() - t0) / 1000).toFixed(0)} s (every frame pre-generated)`
    )
    await syncOnly(info.url, 2, rowsFile) // warm-up: JIT, sockets, page cache
    const rows: Array<BackfillBenchRow> = []
    for (const [k, c] of concurrencies.entries()) {
      const s = await syncOnly(info.url, c, rowsFile)
      if (s.blocks !== info.blocks) throw new Error(`sync-only pass: ${s.blocks} blocks, expected ${info.blocks}`)
      const syncRate = s.blocks / s.seconds
      // alternate which build goes first, so neither always runs on the warmer machine
      const runBaseline = () => (baseline === undefined ? Promise.resolve(undefined) : backfillRun(info, c, cachePath, redis, redisUrl, "", baseline.main, format))
      const base = k % 2 === 0 ? await runBaseline() : undefined
      const b = await backfillRun(info, c, cachePath, redis, redisUrl, "", MAIN, format)
      const baseRun = base ?? (await runBaseline())
      const rate = info.blocks / b.seconds
      rows.push({
        concurrency: c,
        syncOnlyBlocksPerSecond: syncRate,
        syncOnlyPeakRssMb: s.maxRssMb,
        blocksPerSecond: rate,
        mbPerSecond: info.bytes / b.seconds / 1e6,
        ratio: rate / syncRate,
        peakRssMb: b.peakRssMb,
        startRssMb: b.startRssMb,
        startupSeconds: b.startupSeconds,
        redisBytesPerEpoch: b.redisBytesPerEpoch,
        redisPeakUsedMb: b.redisPeakUsedMb,
        ...(baseRun === undefined
          ? {}
          : {
            baseline: {
              blocksPerSecond: info.blocks / baseRun.seconds,
              ratio: info.blocks / baseRun.seconds / syncRate,
              peakRssMb: baseRun.peakRssMb,
              startRssMb: baseRun.startRssMb
            }
          })
      })
      console.log(
        `  concurrency ${c}: sync-only ${syncRate.toFixed(0)} blocks/s (${s.seconds.toFixed(1)} s), backfill ${rate.toFixed(0)} blocks/s ` +
          `(${b.seconds.toFixed(1)} s + ${b.startupSeconds.toFixed(1)} s start-up), peak RSS ${b.peakRssMb.toFixed(0)} MiB` +
          (baseRun === undefined ? "" : `; baseline ${(info.blocks / baseRun.seconds).toFixed(0)} blocks/s, peak RSS ${baseRun.peakRssMb.toFixed(0)} MiB`)
      )
    }
    const capped = options.cappedHeapMb ?? 0
    let cappedLine = ""
    if (capped > 0) {
      const c = Math.max(...concurrencies)
      const b = await backfillRun(info, c, cachePath, redis, redisUrl, `--max-old-space-size=${capped}`)
      const base = rows.find((r) => r.concurrency === c)!
      cappedLine = `  concurrency ${c} with NODE_OPTIONS=--max-old-space-size=${capped}: ${(info.blocks / b.seconds).toFixed(0)} blocks/s ` +
        `(${((100 * info.blocks) / b.seconds / base.syncOnlyBlocksPerSecond).toFixed(0)} % of sync-only), peak RSS ${b.peakRssMb.toFixed(0)} MiB`
    }
    const meanEpoch = info.bytes / info.epochs.length
    const pct = (r: number) => `${(100 * r).toFixed(0)} %`
    const label = baseline === undefined ? "" : ` (baseline: ${baselineRef})`
    console.log(`backfill (--format ${format}) vs sync-only and peak RSS${label}, ${(info.bytes / info.blocks / 1024).toFixed(1)} KB blocks`)
    console.log(
      "conc   sync-only b/s | baseline b/s  vs sync  peak RSS MiB  start RSS | backfill b/s  vs sync  peak RSS MiB  start RSS |  MB/s  Redis MB/epoch  Redis peak MB"
    )
    for (const r of rows) {
      const bl = r.baseline
      console.log(
        `${String(r.concurrency).padStart(4)} ${r.syncOnlyBlocksPerSecond.toFixed(0).padStart(15)} | ` +
          (bl === undefined
            ? `${"—".padStart(12)} ${"—".padStart(8)} ${"—".padStart(13)} ${"—".padStart(10)} | `
            : `${bl.blocksPerSecond.toFixed(0).padStart(12)} ${pct(bl.ratio).padStart(8)} ${bl.peakRssMb.toFixed(0).padStart(13)} ${bl.startRssMb.toFixed(0).padStart(10)} | `) +
          `${r.blocksPerSecond.toFixed(0).padStart(12)} ${pct(r.ratio).padStart(8)} ${r.peakRssMb.toFixed(0).padStart(13)} ${r.startRssMb.toFixed(0).padStart(10)} | ` +
          `${r.mbPerSecond.toFixed(1).padStart(5)} ${(r.redisBytesPerEpoch / 1e6).toFixed(1).padStart(15)} ${r.redisPeakUsedMb.toFixed(0).padStart(14)}`
      )
    }
    if (cappedLine !== "") console.log(cappedLine)
    console.log(
      `backfill: Redis holds ${(rows[0]!.redisBytesPerEpoch / meanEpoch).toFixed(2)}× the block JSON per epoch ` +
        `(${(meanEpoch / 1e6).toFixed(1)} MB of JSON -> ${(rows[0]!.redisBytesPerEpoch / 1e6).toFixed(1)} MB stream); ` +
        `targets: ≥ 85 % of sync-only at 1 and 2, peak RSS ≤ 160 MiB (≤ 300 MiB with 60–80 KB blocks); ` +
        `sync-only RSS ${rows.map((r) => r.syncOnlyPeakRssMb.toFixed(0)).join("/")} MiB`
    )
    return rows
  } finally {
    server.kill("SIGTERM")
    redis.disconnect()
    if (options.keepBaseline !== true) baseline?.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, mean, conc, baseline, format] = process.argv.slice(2)
  await runBackfillBench({
    ...(format === "ogmios" || format === "hecate" ? { format } : {}),
    ...(blocks ? { blocks: Number(blocks) } : {}),
    ...(mean ? { meanBlockBytes: Number(mean) } : {}),
    ...(conc ? { concurrencies: conc.split(",").map(Number) } : {}),
    ...(baseline ? { baseline } : {})
  })
}
