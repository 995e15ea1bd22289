/**
 * `hecate worker`: pulls epoch jobs from the backfill queue (`backfill --distributed` fills it),
 * syncs each from this machine's Ogmios endpoints into the epoch stream named in the job, and
 * reports completion; the coordinator commits. Run any number, on any machines sharing the Redis.
 * A worker killed mid-epoch loses nothing: its job's lock expires (HECATE_WORKER_LOCK_MS), another
 * worker takes it, resets the epoch and redoes it. Runs until interrupted (exit 130).
 */
import { hostname } from "node:os"
import { Effect, Layer, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { configFlag, endpointFlag, intFlag, logFormatFlag, sharedOverrides } from "../config/flags.js"
import { detectNetwork } from "../backfill/network.js"
import { runCommand } from "../cli/command.js"
import { effectWorkerLayer, processEpochJob, queueSettings, workerLockSettings } from "../distributed/index.js"
import { RedisLive } from "../layers/RedisLive.js"
import { intoRunLog } from "../observability/run.js"
import { HecateConfig } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"

const flags = {
  concurrency: intFlag("concurrency").pipe(Flag.withDescription("Epochs this worker syncs at once (default 1)"), Flag.withDefault(1)),
  endpoint: endpointFlag("Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS); epochs rotate over them, retries fail over"),
  queue: Flag.String("queue").pipe(Flag.withDescription("Job queue name (default hecate-backfill; key prefix HECATE_QUEUE_PREFIX)"), Flag.optional),
  name: Flag.String("name").pipe(Flag.withDescription("Worker name recorded on its jobs (default host:pid)"), Flag.optional),
  lockDuration: intFlag("lock-duration").pipe(
    Flag.withDescription("Job lock TTL in ms (default HECATE_WORKER_LOCK_MS, 30000): a dead worker's epoch is retaken after it"),
    Flag.optional
  ),
  stalledInterval: intFlag("stalled-interval").pipe(
    Flag.withDescription("How often to look for stalled jobs, ms (default HECATE_WORKER_STALLED_MS, 30000)"),
    Flag.optional
  ),
  logFormat: logFormatFlag,
  config: configFlag
}

type Flags = { readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never }

const program = (f: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const connector = yield* OgmiosConnector
    const url = Redacted.value(settings.redisUrl)
    const queue = yield* queueSettings(Option.getOrUndefined(f.queue), settings.queuePrefix, { url })
    const locks = workerLockSettings(settings)
    const endpoints = connector.endpoints
    const ogmiosLayer = (eps: ReadonlyArray<string>) => connector.layer("bounded", eps)
    const network = yield* detectNetwork.pipe(Effect.provide(ogmiosLayer(endpoints)))
    const name = Option.getOrElse(f.name, () => `${hostname()}:${process.pid}`)
    const concurrency = f.concurrency
    const log = Effect.runForkWith(yield* Effect.context<never>())

    const worker = effectWorkerLayer(
      {
        queue,
        concurrency,
        name,
        lockDuration: Option.getOrElse(f.lockDuration, () => locks.lockDuration),
        stalledInterval: Option.getOrElse(f.stalledInterval, () => locks.stalledInterval),
        maxStalledCount: locks.maxStalledCount,
        onError: (e) => void log(Effect.logWarning(`worker: ${e.message}`))
      },
      (job) => {
        const data = job.data as { readonly run?: { readonly id?: unknown; readonly prefix?: unknown } } | undefined
        const run = typeof data?.run?.id === "string" && typeof data.run.prefix === "string" ? { id: data.run.id, prefix: data.run.prefix } : undefined
        return processEpochJob({ endpoints, ogmiosLayer, network, name })(job).pipe(intoRunLog(run, url, name))
      }
    ).pipe(Layer.provide(RedisLive.layer({ url: settings.redisUrl, connectionName: `hecate-worker:${name}` })))

    yield* Effect.logInfo(
      `worker ${name}: queue ${queue.prefix}:${queue.name}, ${endpoints.length} endpoint(s) on ${network}, concurrency ${concurrency}`
    )
    return yield* Layer.launch(worker)
  })

export const workerCommand = Command.make("worker", flags, (f) =>
  program(f).pipe(runCommand({
    overrides: sharedOverrides(f),
    failure: "Worker stopped"
  }))
).pipe(Command.withDescription("Sync epoch jobs queued by `backfill --distributed` (run any number, on any machines)"))
