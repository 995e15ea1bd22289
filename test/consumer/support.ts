/**
 * Consumer test helpers: a checked fold of the consumer's sequence (every Apply must extend the
 * folded tip, every Undo must be the tip, every Final must be the next folded block not final yet),
 * a runner that subscribes `consume$` and acks as it folds, and the simulator's canonical chain.
 */
import type { ChildProcess } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import type { Subscription } from "rxjs"
import { type ChainItem, consume$, type ConsumeOptions } from "../../src/consumer/index.js"
import type { Block } from "../../src/domain/block.js"
import { encodeBlocks } from "../../src/domain/wire-format.js"
import { parse } from "../../src/json/lossless.js"
import { testBlock } from "../../src/testing/index.js"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { cleanup } from "../relay/harness.js"
import { type CliResult, runCli } from "../support/cli.js"

export interface FoldedBlock {
  readonly height: number
  readonly hash: string
  readonly slot: number
}

/** The chain as a consumer's table: apply pushes, undo pops, final marks. Throws on any item out of order. */
export class CheckedFold {
  readonly chain: Array<FoldedBlock> = []
  /** how many blocks at the bottom of `chain` are final */
  finalCount = 0
  /** every item id folded, to prove none is folded twice */
  readonly seen = new Set<string>()
  applies = 0
  /** applies read from the epoch streams */
  historyApplies = 0
  undos = 0
  finals = 0

  /** the last folded item's position: positions must strictly increase along the sequence */
  lastPosition = ""

  fold(item: ChainItem): void {
    if (this.seen.has(item.id)) throw new Error(`item ${item.id} delivered twice`)
    this.seen.add(item.id)
    if (!(item.position > this.lastPosition)) throw new Error(`position ${item.position} of ${item.id} is not after ${this.lastPosition}`)
    this.lastPosition = item.position
    const tip = this.chain.at(-1)
    if (item._tag === "Apply") {
      const block = item.block as { ancestor?: unknown }
      if (tip !== undefined) {
        if (item.point.height !== tip.height + 1) throw new Error(`apply of height ${item.point.height} on tip ${tip.height} (${item.id})`)
        if (block.ancestor !== tip.hash) throw new Error(`apply ${item.point.id} does not extend ${tip.hash} (${item.id})`)
      }
      this.chain.push({ height: item.point.height, hash: item.point.id, slot: item.point.slot })
      if (item.final) this.finalCount = this.chain.length
      this.applies++
      if (item.source === "history") this.historyApplies++
    } else if (item._tag === "Undo") {
      if (tip === undefined || tip.hash !== item.point.id) throw new Error(`undo of ${item.point.id} is not the tip ${tip?.hash} (${item.id})`)
      if (this.chain.length <= this.finalCount) throw new Error(`undo of final block ${item.point.id}`)
      this.chain.pop()
      this.undos++
    } else {
      const next = this.chain[this.finalCount]
      if (next === undefined || next.hash !== item.point.id) throw new Error(`final ${item.point.id} is not the next block ${next?.hash} (${item.id})`)
      this.finalCount++
      this.finals++
    }
  }

  keys(): Array<string> {
    return this.chain.map((b) => `${b.height}:${b.hash}`)
  }
}

/** The simulator's canonical chain from `fromHeight` as `height:hash`. */
export const canonical = (sim: SimulatorHandle, fromHeight = 0): Array<string> =>
  sim.chain.canonicalPoints().map((p, i) => ({ key: `${sim.chain.heightOf(i)}:${p.id}`, height: sim.chain.heightOf(i) }))
    .filter((b) => b.height >= fromHeight).map((b) => b.key)

export interface Running {
  readonly fold: CheckedFold
  stop(): void
  /** resolves when the subscription errors (the fold threw, or the consumer failed) */
  readonly failed: Promise<unknown>
  items(): number
  /** true once a hook returned "stop" (the session ended itself) */
  ended(): boolean
}

/** Subscribes `consume$` and acks each item right after folding it (the fold is the handler's commit). */
export const runConsumer = (
  options: ConsumeOptions,
  fold = new CheckedFold(),
  hooks: { readonly onItem?: (item: ChainItem, n: number) => "ack" | "stop" | "hold" } = {}
): Running => {
  let n = 0
  let ended = false
  let subscription: Subscription | undefined
  let rejectFailed: (e: unknown) => void = () => {}
  const failed = new Promise<unknown>((_, reject) => (rejectFailed = reject))
  failed.catch(() => {})
  subscription = consume$(options).subscribe({
    next: (item) => {
      const what = hooks.onItem?.(item, n) ?? "ack"
      if (what === "stop") {
        ended = true
        subscription?.unsubscribe()
        return
      }
      if (what === "hold") return
      try {
        fold.fold(item)
      } catch (e) {
        rejectFailed(e)
        subscription?.unsubscribe()
        return
      }
      n++
      item.ack()
    },
    error: (e: unknown) => rejectFailed(e)
  })
  return {
    fold,
    failed,
    stop: () => subscription?.unsubscribe(),
    items: () => n,
    ended: () => ended
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `check()`; fails early with the consumer's error when it fails. */
export const until = async (what: string, check: () => boolean | Promise<boolean>, failed?: Promise<unknown>, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let error: unknown
  void failed?.catch((e: unknown) => (error = e))
  while (!(await check())) {
    if (error !== undefined) throw error
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
  if (error !== undefined) throw error
}

/** XINFO GROUPS as objects. */
export const groupsOf = async (redis: Redis, key: string): Promise<Array<Record<string, unknown>>> => {
  const raw = (await redis.xinfo("GROUPS", key)) as Array<Array<unknown>>
  return raw.map((g) => {
    const o: Record<string, unknown> = {}
    for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1]
    return o
  })
}

/** `hecate sync` (built CLI) on the two prefixes, its epoch cache in `dir`; a short backfill lock TTL for SIGKILL tests. */
export const startSync = (dir: string, url: string, relayPrefix: string, historyPrefix: string) => {
  let child: ChildProcess | undefined
  const done: Promise<CliResult> = runCli(
    ["sync", "--redis-prefix", relayPrefix, "--history-prefix", historyPrefix, "--endpoint", url, "--depth", "10",
      "--retry-delay", "0", "--concurrency", "2", "--log-format", "json"],
    {
      env: {
        REDIS_URL: TEST_REDIS_URL,
        HECATE_ENV_FILE: "/dev/null",
        HECATE_EPOCH_CACHE: join(dir, `${historyPrefix.replaceAll(":", "_")}cache.json`),
        HECATE_LOCK_TTL_MS: "1000",
        NODE_COMPILE_CACHE: join(tmpdir(), "hecate-e2e-compile-cache")
      },
      timeoutMs: 120_000,
      onSpawn: (c) => (child = c)
    }
  )
  return { done, kill: (signal: NodeJS.Signals) => child?.kill(signal) }
}


/** One `hecate consume --sink jsonl` line. */
export interface Line {
  readonly type: "apply" | "undo" | "final"
  readonly slot: number
  readonly height: number
  readonly hash: string
  readonly source: ChainItem["source"]
  readonly id: string
  readonly position: string
  readonly block?: unknown
}

export const parseLines = (stdout: string): Array<Line> => stdout.split("\n").filter((l) => l !== "").map((l) => parse(l) as Line)

/** `hecate consume …args` (built CLI) with its stdout collected as it arrives. */
export const consumeCli = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) => {
  let child: ChildProcess | undefined
  let out = ""
  let err = ""
  const done: Promise<CliResult> = runCli(["consume", ...args], {
    env: {
      REDIS_URL: TEST_REDIS_URL,
      HECATE_ENV_FILE: "/dev/null",
      HECATE_PROGRESS_INTERVAL_MS: "300",
      NODE_COMPILE_CACHE: join(tmpdir(), "hecate-e2e-compile-cache"),
      ...extraEnv
    },
    timeoutMs: 120_000,
    onSpawn: (c) => {
      child = c
      c.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()))
      c.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()))
    }
  })
  return {
    done,
    kill: (s: NodeJS.Signals) => child?.kill(s),
    output: () => out,
    errors: () => err,
    lines: () => out.split("\n").filter((l) => l !== "").length
  }
}

/**
 * The checked fold of what successive runs printed, each item id once. A run may repeat only
 * what the run before it printed and had not acknowledged: its first lines, at most `inFlight`.
 */
export const foldRuns = (runs: ReadonlyArray<ReadonlyArray<Line>>, inFlight: number): CheckedFold => {
  const fold = new CheckedFold()
  const folded = new Set<string>()
  for (const [i, lines] of runs.entries()) {
    let repeats = 0
    for (const [j, l] of lines.entries()) {
      if (folded.has(l.id)) {
        // what a handler keeping only its last position would skip, too
        if (!(l.position <= fold.lastPosition)) throw new Error(`run ${i}: repeated ${l.id} has a position after the last folded one`)
        repeats++
        if (j !== repeats - 1) throw new Error(`run ${i}: ${l.id} repeated after new lines (line ${j})`)
        if (!runs[i - 1]?.some((p) => p.id === l.id)) throw new Error(`run ${i}: ${l.id} repeats a line of an earlier run than the last`)
        continue
      }
      folded.add(l.id)
      const point = { slot: l.slot, id: l.hash, height: l.height }
      const base = { id: l.id, position: l.position, point, source: l.source, ack: () => Promise.resolve(true) }
      if (l.type === "apply") fold.fold({ _tag: "Apply", ...base, block: l.block, final: l.source === "history" })
      else if (l.type === "undo") fold.fold({ _tag: "Undo", ...base, block: l.block })
      else fold.fold({ _tag: "Final", ...base })
    }
    if (repeats > inFlight) throw new Error(`run ${i} repeated ${repeats} lines, more than --in-flight ${inFlight}`)
  }
  return fold
}

/**
 * Writes a backfilled history by hand, the way the backfill does: per epoch, batch entries of
 * `batch` test blocks (`bytes` of padding each), the `epoch_complete` event, then the commit
 * keys (`low_watermark` 0, `last_synced_epoch` the last epoch). Returns the blocks' hashes in order.
 */
export const writeHistory = async (redis: Redis, prefix: string, epochs: number, perEpoch: number, batch: number, bytes = 0): Promise<Array<string>> => {
  const hashes: Array<string> = []
  let previous = "genesis"
  for (let e = 0; e < epochs; e++) {
    const blocks: Array<Block> = []
    for (let i = 0; i < perEpoch; i++) {
      const h = e * perEpoch + i
      const b = testBlock(0, h, previous)
      blocks.push(bytes === 0 ? b : { ...b, transactions: [{ ...b.transactions[0]!, metadata: { pad: "x".repeat(bytes) } } as never] })
      previous = b.id
      hashes.push(b.id)
    }
    for (let i = 0; i < blocks.length; i += batch) {
      await redis.xadd(`${prefix}epoch:${e}`, "*", "type", "batch", "epoch", String(e), "data", encodeBlocks(blocks.slice(i, i + batch), "hecate"))
    }
    await redis.xadd(`${prefix}event_stream`, "*", "type", "epoch_complete", "epoch", String(e), "last_height", String((e + 1) * perEpoch - 1))
  }
  await redis.mset(`${prefix}low_watermark`, "0", `${prefix}last_synced_epoch`, String(epochs - 1))
  return hashes
}

/** Every key under `prefix`, sorted. */
export const keysUnder = async (redis: Redis, prefix: string): Promise<Array<string>> => {
  const out: Array<string> = []
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    cursor = next
    out.push(...keys)
  } while (cursor !== "0")
  return out.sort()
}

/** A test file's Redis connection (handed to `use` before the tests), and the prefixes it wrote under, deleted after them. */
export const useTestRedis = (use: (redis: Redis) => void, prefixes: Array<string>): void => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL)
    use(redis)
  })
  afterAll(async () => {
    await cleanup(redis, prefixes)
    redis.disconnect()
  })
}
