/**
 * Distributed backfill throughput (issue 9): the same chain relayed by one local `backfill`
 * process (--concurrency 1), then by `backfill --distributed`'s coordinator (in this process, the
 * same Effect the command runs) with 1, 2 and 4 `hecate worker` processes (concurrency 1 each), all
 * on this machine, against one simulator process serving pre-generated frames.
 *
 * Per run: blocks/s and MB/s (from planning done to the last commit), the workers' CPU time per
 * block (/proc utime+stime), their wall time per epoch (from their logs), and the Redis server's
 * time per MB written (INFO commandstats, the fenced-append scripts). A consumer stand-in marks
 * each published epoch consumed so the coordinator's cleanup reclaims it (Redis holds a few epochs).
 *
 * Then a written estimate for mainnet epochs 208–643 on N machines with N Ogmios endpoints, from
 * the measured per-block costs and the shipped block counts (data/epoch_blocks.csv).
 * Figures are printed, never asserted.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/distributed.js [blocks] [meanBlockBytes] [workers e.g. 1,2,4]
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, Exit, Layer, Redacted, References } from "effect"
import { Queue } from "bullmq"
import { Redis as IORedis } from "ioredis"
import type { BackfillProgress } from "../src/backfill/backfill.js"
import { EpochIndex } from "../src/backfill/epoch-index.js"
import { makeRedisSink } from "../src/sinks/redis.js"
import { makeEpochStore } from "../src/backfill/store/EpochStore.js"
import { distributedBackfill } from "../src/distributed/index.js"
import { OgmiosLive } from "../src/layers/OgmiosLive.js"
import { RedisLive } from "../src/layers/RedisLive.js"
import { Redis } from "../src/services/Redis.js"
import { deleteByPrefix } from "./redis-keys.js"
import { firstLine } from "./first-line.js"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const MAIN = here("../../dist/main.js") // the shipped command line (`npm run build`)
const CSV = here("../../data/epoch_blocks.csv")

interface ServerInfo {
  readonly url: string
  readonly network: string
  readonly target: number
  readonly blocks: number
  readonly bytes: number
}

export interface DistributedBenchRow {
  readonly label: string
  readonly workers: number
  readonly blocksPerSecond: number
  readonly mbPerSecond: number
  /** worker CPU (user + sys) per block, µs */
  readonly workerCpuUsPerBlock: number
  /** mean wall time of one epoch on a worker, ms */
  readonly epochWallMs: number
  /** Redis server time in the append scripts / commands per MB of block JSON, ms */
  readonly redisMsPerMb: number
}

const cpuSeconds = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, clock ticks (100 Hz)
  } catch {
    return 0
  }
}

/** usec spent by Redis in the commands that write epoch data (scripts, XADD, MULTI bodies). */
const redisWriteUsec = async (redis: IORedis): Promise<number> => {
  const stats = await redis.info("commandstats")
  let usec = 0
  for (const m of stats.matchAll(/cmdstat_(evalsha|eval|xadd|hincrby|hset):calls=\d+,usec=(\d+)/g)) usec += Number(m[2])
  return usec
}


/** Marks each published epoch consumed (a group at $) so the cleanup can reclaim it. */
const consumerStandIn = (redis: IORedis, prefix: string) => {
  let stop = false
  let published = -1
  const done = (async () => {
    for (;;) {
      const last = stop
      const synced = Number((await redis.get(`${prefix}last_synced_epoch`)) ?? -1)
      for (let e = published + 1; e <= synced; e++) await redis.xgroup("CREATE", `${prefix}epoch:${e}`, "bench", "$").catch(() => undefined)
      published = Math.max(published, synced)
      if (last) return
      await new Promise((r) => setTimeout(r, 40))
    }
  })()
  return async () => {
    stop = true
    await done
  }
}

const env = (cachePath: string, redisUrl: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  HECATE_EPOCH_CACHE: cachePath,
  REDIS_URL: redisUrl,
  NO_COLOR: "1",
  HECATE_ENV_FILE: "/dev/null",
  REDIS_MAX_UNCONSUMED_EPOCHS: "1000",
  ...extra
})

const localRun = async (info: ServerInfo, cachePath: string, redis: IORedis, redisUrl: string): Promise<DistributedBenchRow> => {
  const prefix = `hecate-bench:${randomBytes(4).toString("hex")}:`
  const stopConsumer = consumerStandIn(redis, prefix)
  const usec0 = await redisWriteUsec(redis)
  const child = spawn(process.execPath, [MAIN, "backfill", "--endpoint", info.url, "--redis-prefix", prefix, "--concurrency", "1"], {
    env: env(cachePath, redisUrl),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let started = 0
  let ended = 0
  let stderr = ""
  let cpu = 0
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString()
    if (started === 0 && stderr.includes("Backfilling epochs")) started = performance.now()
    if (ended === 0 && stderr.includes("Relayed epochs up to")) {
      ended = performance.now()
      cpu = cpuSeconds(child.pid!)
    }
  })
  child.stdout!.resume()
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
  await stopConsumer()
  const usec = (await redisWriteUsec(redis)) - usec0
  await deleteByPrefix(redis, prefix)
  if (code !== 0 || started === 0 || ended === 0) throw new Error(`local backfill exited ${code}\n${stderr.slice(-3000)}`)
  const seconds = (ended - started) / 1000
  const epochs = [...stderr.matchAll(/epoch \d+: (\d+) blocks synced/g)].length
  return {
    label: "local backfill --concurrency 1",
    workers: 1,
    blocksPerSecond: info.blocks / seconds,
    mbPerSecond: info.bytes / seconds / 1e6,
    workerCpuUsPerBlock: (cpu * 1e6) / info.blocks,
    epochWallMs: (seconds * 1000) / Math.max(1, epochs),
    redisMsPerMb: usec / 1000 / (info.bytes / 1e6)
  }
}

const distributedRun = async (info: ServerInfo, n: number, cachePath: string, redis: IORedis, redisUrl: string): Promise<DistributedBenchRow> => {
  const id = randomBytes(4).toString("hex")
  const prefix = `hecate-bench:${id}:`
  const queueName = `hecate-bench-${id}`
  const queuePrefix = `hecate-bench-bull-${id}`
  const workers = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, [MAIN, "worker", "--endpoint", info.url, "--queue", queueName, "--name", `w${i + 1}`], {
      env: env(cachePath, redisUrl, { HECATE_QUEUE_PREFIX: queuePrefix }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let log = ""
    child.stdout!.on("data", (d: Buffer) => (log += d.toString()))
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()))
    return { child, log: () => log }
  })
  try {
    // wait until every worker is listening
    for (let i = 0; i < 600 && !workers.every((w) => /worker w\d+: queue/.test(w.log())); i++) await new Promise((r) => setTimeout(r, 50))
    const stopConsumer = consumerStandIn(redis, prefix)
    const cpu0 = workers.map((w) => cpuSeconds(w.child.pid!))
    const usec0 = await redisWriteUsec(redis)
    let planned = 0
    const ogmiosLayer = (eps: ReadonlyArray<string>) => OgmiosLive.layer({ endpoints: eps, requestTimeout: 30_000 })
    const program = Effect.gen(function*() {
      const sink = makeRedisSink(makeEpochStore(yield* Redis, { prefix }))
      return yield* distributedBackfill(
        sink,
        {
          concurrency: 1,
          batchSize: 500,
          endpoints: [info.url],
          ogmiosLayer,
          retries: 1,
          retryDelay: "1 second",
          maxUnconsumedEpochs: 1000,
          cleanupInterval: "2 seconds",
          onProgress: (e: BackfillProgress) => {
            if (e._tag === "Planned") planned = performance.now()
          }
        },
        { queue: { name: queueName, prefix: queuePrefix, connection: { url: redisUrl } }, maxInFlight: 2 * n, pollInterval: "50 millis" }
      )
    }).pipe(
      Effect.provide(Layer.mergeAll(
        RedisLive.layer({ url: Redacted.make(redisUrl) }),
        EpochIndex.layer({ network: info.network, cachePath }),
        ogmiosLayer([info.url]),
        Layer.succeed(References.MinimumLogLevel, "Warn")
      ))
    )
    const exit = await Effect.runPromiseExit(program)
    const ended = performance.now()
    const cpu = workers.reduce((s, w, i) => s + cpuSeconds(w.child.pid!) - cpu0[i]!, 0)
    await stopConsumer()
    const usec = (await redisWriteUsec(redis)) - usec0
    if (Exit.isFailure(exit)) throw new Error(`distributed backfill failed: ${String(exit)}\n${workers.map((w) => w.log().slice(-2000)).join("\n")}`)
    const seconds = (ended - planned) / 1000
    const epochMs = workers.flatMap((w) => [...w.log().matchAll(/epoch \d+: \d+ blocks written in (\d+) ms/g)].map((m) => Number(m[1])))
    return {
      label: `distributed, ${n} worker process${n > 1 ? "es" : ""}`,
      workers: n,
      blocksPerSecond: info.blocks / seconds,
      mbPerSecond: info.bytes / seconds / 1e6,
      workerCpuUsPerBlock: (cpu * 1e6) / info.blocks,
      epochWallMs: epochMs.reduce((a, b) => a + b, 0) / Math.max(1, epochMs.length),
      redisMsPerMb: usec / 1000 / (info.bytes / 1e6)
    }
  } finally {
    for (const w of workers) w.child.kill("SIGTERM")
    await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once("exit", r)))))
    const q = new Queue(queueName, { connection: { url: redisUrl }, prefix: queuePrefix })
    await q.obliterate({ force: true }).catch(() => undefined)
    await q.close()
    await deleteByPrefix(redis, prefix)
    await deleteByPrefix(redis, `${queuePrefix}:`)
  }
}

/** Mainnet epochs 208..643 from the shipped index: block count per epoch. */
const mainnetBlocks = (): { epochs: number; blocks: number } => {
  let epochs = 0
  let blocks = 0
  for (const line of readFileSync(CSV, "utf8").split(/\r?\n/).slice(1)) {
    const [e, b] = line.split(",").map(Number)
    if (e === undefined || b === undefined || !Number.isFinite(e) || e < 208 || e > 643) continue
    epochs++
    blocks += b
  }
  return { epochs, blocks }
}

const hours = (s: number) => (s >= 48 * 3600 ? `${(s / 86400).toFixed(1)} d` : `${(s / 3600).toFixed(1)} h`)

export const runDistributedBench = async (
  options: { readonly blocks?: number; readonly meanBlockBytes?: number; readonly workers?: ReadonlyArray<number>; readonly redisUrl?: string } = {}
): Promise<Array<DistributedBenchRow>> => {
  const blocks = options.blocks ?? 12_000
  const meanBlockBytes = options.meanBlockBytes ?? 14_000
  const counts = options.workers ?? [1, 2, 4]
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
  const dir = mkdtempSync(join(tmpdir(), "hecate-bench-distributed-"))
  const cachePath = join(dir, "epoch_cache.json")
  const server = spawn(process.execPath, ["--max-old-space-size=4096", here("./backfillServer.js"), String(blocks), String(meanBlockBytes), "2000", cachePath], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const redis = new IORedis(redisUrl)
  try {
    const info = JSON.parse(await firstLine(server)) as ServerInfo
    const meanKb = info.bytes / info.blocks / 1024
    console.log(
      `distributed: ${info.blocks} blocks in ${info.target + 1} epochs of ~1000, ${(info.bytes / 1e6).toFixed(0)} MB of block JSON ` +
        `(mean ${meanKb.toFixed(1)} KB), one simulator process, batches of 500, worker concurrency 1`
    )
    const rows: Array<DistributedBenchRow> = [await localRun(info, cachePath, redis, redisUrl)]
    for (const n of counts) rows.push(await distributedRun(info, n, cachePath, redis, redisUrl))
    const base = rows.find((r) => r.label.startsWith("distributed, 1 "))?.blocksPerSecond ?? rows[0]!.blocksPerSecond
    console.log("run                                 blocks/s    MB/s  vs 1 worker  worker CPU µs/block  epoch wall ms  Redis ms/MB")
    for (const r of rows) {
      console.log(
        `${r.label.padEnd(34)} ${r.blocksPerSecond.toFixed(0).padStart(9)} ${r.mbPerSecond.toFixed(1).padStart(7)} ` +
          `${`${(r.blocksPerSecond / base).toFixed(2)}×`.padStart(12)} ${r.workerCpuUsPerBlock.toFixed(0).padStart(20)} ` +
          `${r.epochWallMs.toFixed(0).padStart(14)} ${r.redisMsPerMb.toFixed(2).padStart(12)}`
      )
    }

    // --- the mainnet estimate, from the 1-worker run's per-block costs -------------------------
    const one = rows.find((r) => r.label.startsWith("distributed, 1 "))!
    const main = mainnetBlocks()
    const perBlockWallS = one.epochWallMs / 1000 / (info.blocks / (info.target + 1)) // one worker, one epoch at a time
    const perBlockCpuS = one.workerCpuUsPerBlock / 1e6
    const perBlockRedisS = (one.redisMsPerMb / 1000) * (info.bytes / info.blocks / 1e6)
    console.log(
      `mainnet estimate, epochs 208–643 (${main.epochs} epochs, ${main.blocks} blocks, data/epoch_blocks.csv), from the 1-worker run at ` +
        `${meanKb.toFixed(0)} KB mean block JSON: a worker spends ${(perBlockWallS * 1e6).toFixed(0)} µs/block wall ` +
        `(an epoch of ~21 600 blocks in ${(perBlockWallS * 21_600 / 60).toFixed(1)} min; its endpoint here is a simulator sharing the CPU) ` +
        `and ${(perBlockCpuS * 1e6).toFixed(0)} µs/block CPU (the bound when its Ogmios keeps up); Redis spends ` +
        `${(perBlockRedisS * 1e6).toFixed(0)} µs/block, so one Redis caps the cluster at ~${(1 / perBlockRedisS).toFixed(0)} blocks/s ` +
        `(N ≈ ${(perBlockWallS / perBlockRedisS).toFixed(0)} machines at the wall rate, ${(perBlockCpuS / perBlockRedisS).toFixed(1)} at the CPU rate)`
    )
    console.log("   N machines + N endpoints   wall rate, same blocks   CPU rate, same blocks   wall rate, blocks 3× larger")
    for (const n of [1, 2, 4, 8, 16, 32]) {
      const t = (perBlock: number, scale: number) => Math.max((main.blocks * perBlock * scale) / n, main.blocks * perBlockRedisS * scale)
      console.log(
        `${String(n).padStart(27)} ${hours(t(perBlockWallS, 1)).padStart(24)} ${hours(t(perBlockCpuS, 1)).padStart(23)} ` +
          `${hours(t(perBlockWallS, 3)).padStart(29)}`
      )
    }
    return rows
  } finally {
    server.kill("SIGTERM")
    redis.disconnect()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, mean, workers] = process.argv.slice(2)
  await runDistributedBench({
    ...(blocks ? { blocks: Number(blocks) } : {}),
    ...(mean ? { meanBlockBytes: Number(mean) } : {}),
    ...(workers ? { workers: workers.split(",").map(Number) } : {})
  })
  process.exit(0)
}
