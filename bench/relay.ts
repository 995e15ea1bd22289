/**
 * Relay latency: from the simulator producing a block (`forge()`) to a consumer blocked on
 * `XREAD BLOCK 0` on the relay's `events` stream receiving its apply entry. The simulator, the
 * relay (chainSync$ → reorg → RelayStore, the library pipeline) and the consumer share one process
 * and its clock; Redis is the real server (REDIS_URL, default 127.0.0.1:6379) under a throwaway
 * prefix. Figures are printed, never asserted.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/relay.js [blocks] [intervalMs] [meanBlockBytes]
 *
 * `runRelayLatencyBench(options)` is the entry point for bench/run.ts.
 */
import { randomBytes } from "node:crypto"
import { pathToFileURL } from "node:url"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { Redis as IORedis } from "ioredis"
import { OgmiosLive } from "../src/layers/OgmiosLive.js"
import { RedisLive } from "../src/layers/RedisLive.js"
import { relay } from "../src/relay/relay.js"
import { RelayStore } from "../src/relay/RelayStore.js"
import { startSimulator } from "../src/simulator/index.js"

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
}

export interface RelayLatencyResult {
  readonly blocks: number
  readonly intervalMs: number
  readonly meanBlockBytes: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
  /** forge -> the relay's write committed (its own share of the latency) */
  readonly commitP50Ms: number
  readonly commitP99Ms: number
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const runRelayLatencyBench = async (options: RelayLatencyOptions = {}): Promise<RelayLatencyResult> => {
  const blocks = options.blocks ?? 1000
  const intervalMs = options.intervalMs ?? 5
  const meanBlockBytes = options.meanBlockBytes ?? 16_384
  const warmup = options.warmup ?? 50
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
  const prefix = `hecate-bench:${randomBytes(6).toString("hex")}:`
  const sim = await startSimulator({ port: 0, seed: "bench-relay", initialBlocks: 20, securityParameter: 100, meanBlockBytes })
  const consumer = new IORedis(redisUrl)
  const admin = new IORedis(redisUrl)
  const forged = new Map<number, number>()
  const latencies: Array<number> = []
  const commits: Array<number> = []
  const layers = Layer.mergeAll(
    OgmiosLive.layer({ endpoints: [sim.url] }),
    RelayStore.layer({ prefix }).pipe(Layer.provide(RedisLive.layer({ url: Redacted.make(redisUrl), connectionName: "hecate-bench-relay" })))
  )
  let measureFrom = Number.POSITIVE_INFINITY
  const fiber = Effect.runFork(relay({
    endpoints: [sim.url],
    from: "origin",
    depth: 10,
    inFlight: 100,
    // the relay's own share: forge -> the write committed in Redis (Lua EXEC returned)
    onWrite: ({ events }) => {
      const now = performance.now()
      for (const e of events) {
        const t0 = e._tag === "Apply" && e.block.height > measureFrom ? forged.get(e.block.height) : undefined
        if (t0 !== undefined) commits.push(now - t0)
      }
    }
  }).pipe(Effect.provide(layers)))
  try {
    // the consumer: XREAD BLOCK 0 from the start of the stream, stamping each apply on arrival
    const tipHeight = sim.chain.heightOf(sim.chain.tipIndex)
    const total = warmup + blocks
    const lastHeight = tipHeight + total
    measureFrom = tipHeight + warmup
    let stop = false
    const reader = (async () => {
      let last = "0-0"
      while (!stop) {
        const reply = (await consumer.xread("BLOCK", 0, "STREAMS", `${prefix}events`, last)) as
          | Array<[string, Array<[string, Array<string>]>]>
          | null
        const now = performance.now()
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          last = id
          let type = ""
          let height = -1
          for (let i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i] === "type") type = fields[i + 1]!
            else if (fields[i] === "height") height = Number(fields[i + 1])
          }
          const t0 = forged.get(height)
          if (type === "apply" && t0 !== undefined && height > tipHeight + warmup) latencies.push(now - t0)
          if (type === "apply" && height >= lastHeight) stop = true
        }
      }
    })()
    // wait for the relay to reach the initial tip, then produce at a steady interval
    for (;;) {
      const w = await admin.lrange(`${prefix}window`, -1, -1)
      if (Number(w[0]?.split(" ")[0] ?? -1) >= tipHeight) break
      await sleep(10)
    }
    let next = performance.now()
    for (let i = 1; i <= total; i++) {
      next += intervalMs
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      forged.set(tipHeight + i, performance.now())
      sim.forge(1)
    }
    await reader
  } finally {
    await Effect.runPromise(Fiber.interrupt(fiber))
    let cursor = "0"
    do {
      const [nextCursor, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
      cursor = nextCursor
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== "0")
    consumer.disconnect()
    admin.disconnect()
    await sim.stop()
  }
  const sorted = [...latencies].sort((a, b) => a - b)
  const commitSorted = [...commits].sort((a, b) => a - b)
  const round = (x: number) => Math.round(x * 1000) / 1000
  return {
    blocks: sorted.length,
    intervalMs,
    meanBlockBytes,
    p50Ms: round(quantile(sorted, 0.5)),
    p90Ms: round(quantile(sorted, 0.9)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    commitP50Ms: round(quantile(commitSorted, 0.5)),
    commitP99Ms: round(quantile(commitSorted, 0.99))
  }
}

export const formatRelayLatency = (r: RelayLatencyResult): string =>
  `relay latency (forge -> XREAD BLOCK consumer), ${r.blocks} blocks of ~${Math.round(r.meanBlockBytes / 1024)} KiB every ${r.intervalMs} ms: ` +
  `p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, mean ${r.meanMs} ms ` +
  `(forge -> write committed: p50 ${r.commitP50Ms} ms, p99 ${r.commitP99Ms} ms)`

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [blocks, interval, bytes] = process.argv.slice(2).map(Number)
  runRelayLatencyBench({
    ...(blocks ? { blocks } : {}),
    ...(interval ? { intervalMs: interval } : {}),
    ...(bytes ? { meanBlockBytes: bytes } : {})
  }).then(
    (r) => {
      console.log(formatRelayLatency(r))
      process.exit(0)
    },
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    }
  )
}
