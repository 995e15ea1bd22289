/**
 * End-to-end helpers for the backfill: a fresh Redis prefix and epoch-cache file per test (both
 * removed afterwards), simulators on ephemeral ports, the built CLI run as a child process, and
 * readers that decode what the CLI left in Redis (epoch streams, events, metrics) so tests can
 * compare it with the simulator's canonical chain.
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest"
import type { Block } from "../../src/domain/block.js"
import { encodeBlock, type WireFormat } from "../../src/domain/wire-format.js"
import { parse, stringify } from "../../src/json/lossless.js"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL as REDIS_URL } from "../backfill/redis-helpers.js"
import { type PrivateRedis, startPrivateRedis } from "../relay/private-redis.js"
import { type CliOptions, type CliResult, runCli } from "./cli.js"
export { seededRandom } from "./seeded-random.js"

export { deleteByPrefix, TEST_REDIS_URL as REDIS_URL } from "../backfill/redis-helpers.js"

/** A short custom chain: epochs of ~50 blocks of ~2 KB (epochLength 100, f 0.5). */
export const SMALL_CHAIN = {
  port: 0,
  network: "custom",
  epochLength: 100,
  activeSlotsCoefficient: 0.5,
  securityParameter: 10,
  meanBlockBytes: 2048,
  initialBlocks: 330 // ≈ epochs 0..6, 0..5 finalized
} as const satisfies SimulatorOptions

export interface E2e {
  readonly prefix: string
  readonly redis: Redis
  readonly dir: string
  readonly cachePath: string
  /** Env for every CLI run of this test: its cache file, Redis, a short producer-lock TTL. */
  readonly env: Record<string, string>
  readonly sims: Array<SimulatorHandle>
  /** Starts a simulator, stopped at cleanup. */
  sim(options?: SimulatorOptions): Promise<SimulatorHandle>
  /** `hecate backfill …args`, with `--redis-prefix <prefix> --retry-delay 0 --retries 1` unless given */
  backfill(args: ReadonlyArray<string>, options?: CliOptions): Promise<CliResult>
  status(args?: ReadonlyArray<string>): Promise<CliResult>
  // the readers below, on this test's Redis and prefix
  epochStreams(): Promise<Array<number>>
  readEpoch(epoch: number): Promise<EpochContent>
  readEvents(): Promise<Array<EpochEvent>>
  snapshot(): Promise<Snapshot>
  consumeEpoch(epoch: number, group: string): Promise<Array<string>>
  readOneWithoutAck(epoch: number, group: string): Promise<void>
  /** Derives and caches the epoch index through `end` from `url` without touching Redis (jsonl to /dev/null). */
  deriveIndex(url: string, end: number): Promise<void>
  cleanup(): Promise<void>
}

export const e2e = async (): Promise<E2e> => {
  const prefix = `hecate-test:${randomBytes(6).toString("hex")}:`
  const redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 })
  const dir = mkdtempSync(join(tmpdir(), "hecate-e2e-"))
  const cachePath = join(dir, "epoch_cache.json")
  const env = {
    HECATE_EPOCH_CACHE: cachePath,
    REDIS_URL,
    HECATE_LOCK_TTL_MS: "1500",
    HECATE_ENV_FILE: "/dev/null",
    // most tests have no consumer draining the epochs: backpressure (5 by default) would pause a
    // resumed run forever once 5 published epochs sit unconsumed below it
    REDIS_MAX_UNCONSUMED_EPOCHS: "1000",
    // Node's on-disk compile cache: a CLI start costs ~1 s instead of ~3 s on the shared 2-core box
    NODE_COMPILE_CACHE: join(tmpdir(), "hecate-e2e-compile-cache")
  }
  const sims: Array<SimulatorHandle> = []
  const self: E2e = {
    prefix,
    redis,
    dir,
    cachePath,
    env,
    sims,
    sim: async (options = SMALL_CHAIN) => {
      const s = await startSimulator(options)
      sims.push(s)
      return s
    },
    backfill: (args, options = {}) => {
      const defaults = [["--redis-prefix", prefix], ["--retry-delay", "0"], ["--retries", "1"]].filter(([flag]) => !args.includes(flag!))
      return runCli(["backfill", ...defaults.flat(), ...args], { ...options, env: { ...env, ...options.env } })
    },
    status: (args = []) => runCli(["status", "--redis-prefix", prefix, ...args], { env }),
    epochStreams: () => epochStreams(redis, prefix),
    readEpoch: (epoch) => readEpoch(redis, prefix, epoch),
    readEvents: () => readEvents(redis, prefix),
    snapshot: () => snapshot(redis, prefix),
    consumeEpoch: (epoch, group) => consumeEpoch(redis, prefix, epoch, group),
    readOneWithoutAck: (epoch, group) => readOneWithoutAck(redis, prefix, epoch, group),
    deriveIndex: async (url, end) => {
      const r = await self.backfill(["--endpoint", url, "--end-epoch", String(end), "--sink", "jsonl", "--output", "/dev/null"])
      expect(r.code, output(r)).toBe(0)
    },
    cleanup: async () => {
      await Promise.all(sims.map((s) => s.stop()))
      await deleteByPrefix(redis, prefix)
      redis.disconnect()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return self
}

/** What the Redis-fault files share: one `e2e()`, a private redis-server and a simulator of `initialBlocks`. */
export interface RedisFaultFixture {
  readonly t: E2e
  readonly redis: PrivateRedis
  readonly sim: SimulatorHandle
  /** the newest finalized epoch of the simulator */
  readonly target: number
}

/** Starts the fixture before the file's tests (`use` receives it) and stops it after them. */
export const redisFaultFixture = (initialBlocks: number, use: (fixture: RedisFaultFixture) => void): void => {
  let fixture: RedisFaultFixture | undefined
  beforeAll(async () => {
    const t = await e2e()
    const redis = await startPrivateRedis()
    const sim = await t.sim(EPOCHS_CHAIN(initialBlocks))
    fixture = { t, redis, sim, target: lastFinalized(sim) }
    use(fixture)
  }, 60_000)
  afterAll(async () => {
    await fixture?.t.cleanup()
    await fixture?.redis.stop()
  })
}

/** A fresh `e2e()` for every test of the file, cleaned up after it; `use` receives each one. */
export const e2ePerTest = (use: (t: E2e) => void): void => {
  let current: E2e | undefined
  beforeEach(async () => {
    current = await e2e()
    use(current)
  })
  afterEach(async () => {
    await current?.cleanup()
    current = undefined
  })
}


/** Everything the CLI printed, for assertion messages. */
export const output = (r: CliResult): string => `exit ${r.code} (${r.signal ?? "no signal"})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

// ------------------------------------------------------------------------------ reading Redis ---

export interface StreamEntry {
  readonly id: string
  readonly fields: Record<string, string>
}

const toFields = (flat: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

export const xrange = async (redis: Redis, key: string): Promise<Array<StreamEntry>> =>
  (await redis.xrange(key, "-", "+")).map(([id, flat]) => ({ id, fields: toFields(flat) }))

/** The blocks of an entry's `data` (lossless: integers beyond 2^53 stay exact). */
export const entryBlocks = (entry: StreamEntry): Array<Record<string, unknown>> => {
  const data = entry.fields["data"]
  if (data === undefined) throw new Error(`entry ${entry.id} has no data field`)
  const parsed = parse(data)
  if (!Array.isArray(parsed)) throw new Error(`entry ${entry.id}: data is not a JSON array`)
  return parsed as Array<Record<string, unknown>>
}

export interface EpochContent {
  readonly entries: number
  /** per entry: its fields except data, and its blocks re-serialised */
  readonly batches: ReadonlyArray<{ readonly type: string; readonly epoch: string; readonly blocks: ReadonlyArray<string> }>
  readonly heights: ReadonlyArray<number>
}

export const readEpoch = async (redis: Redis, prefix: string, epoch: number): Promise<EpochContent> => {
  const entries = await xrange(redis, `${prefix}epoch:${epoch}`)
  const batches = entries.map((e) => ({
    type: e.fields["type"] ?? "",
    epoch: e.fields["epoch"] ?? "",
    blocks: entryBlocks(e).map((b) => stringify(b))
  }))
  const heights = entries.flatMap((e) => entryBlocks(e).map((b) => Number(b["height"])))
  return { entries: entries.length, batches, heights }
}

/** Epoch numbers that have a stream (not :meta) under the prefix. */
export const epochStreams = async (redis: Redis, prefix: string): Promise<Array<number>> => {
  const keys = await redis.keys(`${prefix}epoch:*`)
  return keys.filter((k) => !k.endsWith(":meta")).map((k) => Number(k.slice(`${prefix}epoch:`.length))).sort((a, b) => a - b)
}

export interface EpochEvent {
  readonly type: string
  readonly epoch: string
  readonly last_height: string
}

export const readEvents = async (redis: Redis, prefix: string): Promise<Array<EpochEvent>> =>
  (await xrange(redis, `${prefix}event_stream`)).map((e) => ({
    type: e.fields["type"] ?? "",
    epoch: e.fields["epoch"] ?? "",
    last_height: e.fields["last_height"] ?? ""
  }))

/**
 * The content of a namespace without anything time-based (entry ids, timestamps): compared
 * between an uninterrupted run and a crashed-then-resumed one.
 */
export interface Snapshot {
  readonly lastSyncedEpoch: string | null
  readonly lowWatermark: string | null
  readonly readySet: ReadonlyArray<string>
  readonly resumeMap: Record<string, string>
  readonly epochs: Record<string, EpochContent>
  readonly meta: Record<string, { readonly bytes_total: string | undefined; readonly blocks_total: string | undefined }>
  readonly events: ReadonlyArray<EpochEvent>
  readonly metrics: { readonly blocks_total: string | undefined; readonly epochs_total: string | undefined }
  readonly producerLock: string | null
}

export const snapshot = async (redis: Redis, prefix: string): Promise<Snapshot> => {
  const epochs: Record<string, EpochContent> = {}
  const meta: Record<string, { bytes_total: string | undefined; blocks_total: string | undefined }> = {}
  for (const e of await epochStreams(redis, prefix)) {
    epochs[e] = await readEpoch(redis, prefix, e)
    const m = await redis.hgetall(`${prefix}epoch:${e}:meta`)
    meta[e] = { bytes_total: m["bytes_total"], blocks_total: m["blocks_total"] }
  }
  const metrics = await redis.hgetall(`${prefix}metrics`)
  return {
    lastSyncedEpoch: await redis.get(`${prefix}last_synced_epoch`),
    lowWatermark: await redis.get(`${prefix}low_watermark`),
    readySet: (await redis.smembers(`${prefix}ready_set`)).sort(),
    resumeMap: await redis.hgetall(`${prefix}resume_map`),
    epochs,
    meta,
    events: await readEvents(redis, prefix),
    metrics: { blocks_total: metrics["blocks_total"], epochs_total: metrics["epochs_total"] },
    producerLock: await redis.get(`${prefix}producer_lock`)
  }
}

// ---------------------------------------------------------------------- the canonical chain ---

/** The simulator's canonical blocks of `epoch`, in the wire format, one JSON text each. */
export const expectedEpoch = (sim: SimulatorHandle, epoch: number, format: WireFormat = "hecate"): Array<string> => {
  const info = sim.chain.epochInfo(epoch)
  if (info === undefined) throw new Error(`the simulator has no epoch ${epoch}`)
  const out: Array<string> = []
  for (let h = info.firstHeight; h <= info.lastHeight; h++) out.push(encodeBlock(sim.chain.blockAt(h) as Block, format))
  return out
}

/** The simulator's last finalized epoch (the one before the tip's). */
export const lastFinalized = (sim: SimulatorHandle): number => sim.chain.currentEpoch() - 1

const CONSUMER = "worker-1"

/** A consumer following docs/redis-contract.md: per published epoch, a group at 0, COUNT 2, XACK each. */
export const consumeEpoch = async (redis: Redis, prefix: string, epoch: number, group: string): Promise<Array<string>> => {
  const key = `${prefix}epoch:${epoch}`
  await redis.xgroup("CREATE", key, group, "0").catch((e: unknown) => {
    if (!String(e).includes("BUSYGROUP")) throw e
  })
  const blocks: Array<string> = []
  // first what was delivered to this consumer before and not acknowledged (a restart), then new entries
  for (const from of ["0", ">"]) {
    for (;;) {
      const reply = (await redis.xreadgroup("GROUP", group, CONSUMER, "COUNT", 2, "STREAMS", key, from)) as
        | Array<[string, Array<[string, Array<string>]>]>
        | null
      const entries = reply?.[0]?.[1] ?? []
      if (entries.length === 0) break
      for (const [id, flat] of entries) {
        blocks.push(...entryBlocks({ id, fields: toFields(flat) }).map((b) => stringify(b)))
        await redis.xack(key, group, id)
      }
    }
  }
  return blocks
}

/** Reads one entry of `epoch` for `group` without acknowledging it: a consumer stopped half-way. */
export const readOneWithoutAck = async (redis: Redis, prefix: string, epoch: number, group: string): Promise<void> => {
  const key = `${prefix}epoch:${epoch}`
  await redis.xgroup("CREATE", key, group, "0")
  await redis.xreadgroup("GROUP", group, CONSUMER, "COUNT", 1, "STREAMS", key, ">")
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A custom chain of ~7–8 epochs of ~60 blocks of ~2–3 KB (epochLength 120, f 0.5, k 10). */
export const EPOCHS_CHAIN = (initialBlocks: number, meanBlockBytes = 2048) =>
  ({
    port: 0,
    network: "custom",
    epochLength: 120,
    activeSlotsCoefficient: 0.5,
    securityParameter: 10,
    meanBlockBytes,
    initialBlocks
  }) as const satisfies SimulatorOptions

/** An `onSpawn` that calls `action` once, the first time the child's stderr matches `pattern`. */
export const onceLogged = (pattern: RegExp, action: () => void) => (child: ChildProcess) => {
  let seen = ""
  let done = false
  child.stderr?.on("data", (d: Buffer) => {
    seen += d.toString()
    if (done || !pattern.test(seen)) return
    done = true
    action()
  })
}

/** Every epoch 0..target under `prefix` is exactly the simulator's canonical chain, committed once, in order. */
export const expectCanonicalEpochs = async (redis: Redis, prefix: string, sim: SimulatorHandle, target: number): Promise<Snapshot> => {
  const state = await snapshot(redis, prefix)
  for (let e = 0; e <= target; e++) {
    expect(state.epochs[e]!.batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
  }
  expect(state.events.map((e) => e.epoch)).toEqual(Array.from({ length: target + 1 }, (_, e) => String(e)))
  return state
}
