/**
 * Distributed-backfill test helpers: a unique BullMQ queue (name + key prefix) per test, obliterated
 * at cleanup; `hecate worker` child processes; the coordinator run in-process through the same
 * Effect `backfill --distributed` runs, over the live layers (Redis, Ogmios, EpochIndex).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { Queue } from "bullmq"
import { Effect, Layer } from "effect"
import type { BackfillOptions, BackfillProgress } from "../../src/backfill/backfill.js"
import { EpochIndex } from "../../src/backfill/epoch-index.js"
import { detectNetwork } from "../../src/backfill/network.js"
import { makeRedisSink } from "../../src/sinks/redis.js"
import { makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { distributedBackfill, type DistributedOptions } from "../../src/distributed/index.js"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { Redis } from "../../src/services/Redis.js"
import { Redacted } from "effect"
import { deleteByPrefix, type E2e, REDIS_URL } from "../support/backfill-e2e.js"
import { mainJs, TEST_RUNS_PREFIX } from "../support/cli.js"

export interface TestQueue {
  readonly name: string
  readonly prefix: string
  readonly env: Record<string, string>
  readonly queue: Queue
  cleanup(): Promise<void>
}

export const testQueue = async (t: E2e): Promise<TestQueue> => {
  const id = randomBytes(5).toString("hex")
  const name = `hecate-test-${id}`
  const prefix = `hecate-test-bull-${id}`
  const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix })
  await queue.waitUntilReady()
  return {
    name,
    prefix,
    env: { HECATE_QUEUE_PREFIX: prefix },
    queue,
    cleanup: async () => {
      await queue.obliterate({ force: true }).catch(() => undefined)
      await queue.close()
      await deleteByPrefix(t.redis, `${prefix}:`)
    }
  }
}

export interface WorkerProcess {
  readonly name: string
  readonly child: ChildProcess
  /** everything it logged so far */
  log(): string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `hecate worker` as a child process (Node 22 of the test run). */
export const startWorker = (t: E2e, q: TestQueue, name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): WorkerProcess => {
  const child = spawn(process.execPath, [mainJs, "worker", "--queue", q.name, "--name", name, ...args], {
    env: { ...process.env, NO_COLOR: "1", HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX, ...t.env, ...q.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let text = ""
  child.stdout!.on("data", (d) => (text += d))
  child.stderr!.on("data", (d) => (text += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  return { name, child, log: () => text, exited }
}

/** Stops a worker if it still runs (SIGTERM, then SIGKILL after 10 s). */
export const stopWorker = async (w: WorkerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
  if (w.child.exitCode === null && w.child.signalCode === null) {
    w.child.kill("SIGTERM")
    const timer = setTimeout(() => w.child.kill("SIGKILL"), 10_000)
    const r = await w.exited
    clearTimeout(timer)
    return r
  }
  return w.exited
}

export interface CoordinatorRun {
  readonly options: Omit<BackfillOptions, "endpoints" | "ogmiosLayer">
  readonly dist: Omit<DistributedOptions, "queue">
}

/** The coordinator, in this process, as `backfill --distributed` runs it (same Effect, live layers). */
export const runCoordinator = (t: E2e, q: TestQueue, endpoint: string, run: CoordinatorRun, progress: Array<BackfillProgress> = []) => {
  const ogmiosLayer = (eps: ReadonlyArray<string>) => OgmiosLive.layer({ endpoints: eps, requestTimeout: 30_000, reconnect: { maxAttempts: 3, maxDelay: 500 } })
  const queryLayer = ogmiosLayer([endpoint])
  const indexLayer = Layer.unwrap(Effect.map(detectNetwork, (network) => EpochIndex.layer({ network, cachePath: t.cachePath }))).pipe(
    Layer.provide(queryLayer)
  )
  const program = Effect.gen(function*() {
    const redis = yield* Redis
    const sink = makeRedisSink(makeEpochStore(redis, { prefix: t.prefix }))
    return yield* distributedBackfill(
      sink,
      { ...run.options, endpoints: [endpoint], ogmiosLayer, onProgress: (e) => void progress.push(e) },
      { ...run.dist, queue: { name: q.name, prefix: q.prefix, connection: { url: REDIS_URL } } }
    )
  }).pipe(Effect.provide(Layer.mergeAll(RedisLive.layer({ url: Redacted.make(REDIS_URL) }), indexLayer, queryLayer)))
  return Effect.runPromiseExit(program)
}
