/**
 * The program of `hecate backfill` on the run's settings: the library's backfill (or, with
 * `distributed`, the BullMQ coordinator) into the chosen sink, against OGMIOS_ENDPOINTS or an
 * embedded simulator, then what was written where. A run into a Redis sink opens one connection
 * from REDIS_URL; a run into stdout or a file opens none.
 */
import { availableParallelism } from "node:os"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { defaultConcurrency } from "../config/settings.js"
import type { WireFormat } from "../domain/wire-format.js"
import { RedisLive } from "../layers/RedisLive.js"
import { backfillObserver, observeSink } from "../observability/instrument.js"
import { Telemetry } from "../observability/Telemetry.js"
import { HecateConfig, InvalidConfiguration } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { redactUrl } from "../services/Redis.js"
import type { BlockSink } from "../sinks/BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES, needsRedis, type SinkKind } from "../sinks/capabilities.js"
import { makeRedisBackedSink, makeStreamSink, sinkPrefix } from "../sinks/choose.js"
import { backfill } from "./backfill.js"
import { EpochIndex } from "./epoch-index.js"
import { detectNetwork } from "./network.js"
import { demoSummary, listSummary, progressLogger, streamSummary } from "./summary.js"

/** A small custom chain for demos: 8 epochs of ~100 blocks (6 finalized), 4 KiB blocks. */
export const DEMO_SIMULATOR = {
  port: 0,
  network: "custom",
  epochLength: 200,
  activeSlotsCoefficient: 0.5,
  securityParameter: 20,
  initialBlocks: 700,
  meanBlockBytes: 4096
} as const

/** What a backfill run is asked for (the command's flags; concurrency, retries and the rest come from the settings). */
export interface BackfillRun {
  readonly startEpoch?: number | undefined
  readonly endEpoch?: number | undefined
  readonly sink: SinkKind
  /** default: the sink's (HECATE_HISTORY_PREFIX for redis, hecate: for redis-list) */
  readonly redisPrefix?: string | undefined
  readonly format: WireFormat
  /** the jsonl sink's file ("-" or none: stdout) */
  readonly output?: string | undefined
  readonly purgeOrphans: boolean
  readonly rebaseOrderingBase: boolean
  /** run against an embedded simulator (DEMO_SIMULATOR) instead of the settings' endpoints */
  readonly simulator: boolean
  /** queue the epochs for `hecate worker` processes instead of syncing them here */
  readonly distributed?: { readonly detach: boolean; readonly queue: Option.Option<string> } | undefined
  /** `--detach` given without `--distributed` (refused: it would be ignored) */
  readonly detachAlone?: boolean | undefined
}

/** Flags that only mean something with another one: refused rather than silently ignored. */
const flagWithoutItsMode = (options: BackfillRun): InvalidConfiguration | undefined =>
  options.output !== undefined && options.sink !== "jsonl"
    ? new InvalidConfiguration({
      variable: "--output",
      message: `--output applies to --sink jsonl only (--sink ${options.sink} does not write a file): add --sink jsonl, or drop --output — e.g. --sink jsonl --output ${options.output}`
    })
    : options.detachAlone === true
    ? new InvalidConfiguration({ variable: "--detach", message: "--detach applies to --distributed only: add --distributed, or drop --detach — e.g. --distributed --detach" })
    : undefined

/** An embedded simulator for the run's lifetime. */
const embeddedSimulator = Effect.gen(function*() {
  const simulator = yield* Effect.acquireRelease(
    // the simulator's modules (block forging, CBOR) load only for a --simulator run
    Effect.promise(() => import("../simulator/index.js").then((m) => m.startSimulator(DEMO_SIMULATOR))),
    (sim) => Effect.promise(() => sim.stop())
  )
  const tip = simulator.chain.tip()
  yield* Effect.logInfo(`embedded simulator at ${simulator.url} (custom network, tip height ${tip === "origin" ? "-" : tip.height})`)
  return simulator
})

const emptyRange = (start: number, end: number) =>
  // a range that is empty by its own bounds is a typo, not "nothing left to do"
  new InvalidConfiguration({
    variable: "--start-epoch",
    message: `--start-epoch ${start} is after --end-epoch ${end}: the range is empty — e.g. --start-epoch ${end} --end-epoch ${start}`
  })

/**
 * What the options alone get wrong (a flag without its mode, a range empty by its own bounds):
 * the command checks it before it records a run, the program again for any other caller.
 */
export const backfillRunProblem = (options: BackfillRun): InvalidConfiguration | undefined =>
  flagWithoutItsMode(options) ??
    (options.startEpoch !== undefined && options.endEpoch !== undefined && options.startEpoch > options.endEpoch
      ? emptyRange(options.startEpoch, options.endEpoch)
      : undefined)

export const backfillProgram = (options: BackfillRun) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const connector = yield* OgmiosConnector
    const problem = backfillRunProblem(options)
    if (problem !== undefined) return yield* problem
    const simulator = options.simulator ? yield* embeddedSimulator : undefined
    const endpoints = simulator !== undefined ? [simulator.url] : connector.endpoints
    const ogmiosLayer = (eps: ReadonlyArray<string>) => connector.layer("bounded", eps)
    const queryLayer = ogmiosLayer(endpoints)
    const network = yield* detectNetwork.pipe(Effect.provide(queryLayer))
    const indexLayer = EpochIndex.layer({ network, cachePath: settings.epochCachePath })

    const lockTtlMs = Option.getOrUndefined(settings.lockTtl)
    const output = options.output
    const toFile = output !== undefined && output !== "-"
    const kind = options.sink
    const capabilities = BACKFILL_SINK_CAPABILITIES[kind]
    const prefix = needsRedis(kind) ? sinkPrefix(kind, options.redisPrefix, settings.historyPrefix) : undefined
    const writtenTo = options.distributed !== undefined || !capabilities.text ? undefined : kind === "jsonl" && toFile ? output : "stdout"
    // a newcomer's demo, or anyone at a terminal: end with what was written where and how to read it
    const summarize = options.simulator || process.stderr.isTTY === true
    const started = performance.now()
    const runLog = Effect.runSyncWith(yield* Effect.context<never>())

    const runInto = (sink: BlockSink) =>
      Effect.gen(function*() {
        const telemetry = yield* Telemetry
        const observed = observeSink(sink, telemetry.live)
        const distributed = options.distributed
        // the coordinator (and BullMQ with it) loads only for a --distributed run
        const run = distributed !== undefined
          ? (yield* Effect.promise(() => import("../distributed/coordinator.js"))).runDistributedBackfill({
            ...distributed,
            format: options.format,
            concurrency: settings.backfillConcurrency
          })
          : backfill
        return yield* run(observed, {
          startEpoch: options.startEpoch,
          endEpoch: options.endEpoch,
          concurrency: Option.getOrElse(settings.backfillConcurrency, () => defaultConcurrency(availableParallelism())),
          batchSize: settings.batchSize,
          inFlight: settings.inFlight,
          endpoints,
          ogmiosLayer,
          retries: settings.epochRetries,
          retryDelay: `${settings.epochRetryDelaySeconds} seconds`,
          purgeOrphans: options.purgeOrphans,
          rebaseOrderingBase: options.rebaseOrderingBase,
          maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
          ...(lockTtlMs !== undefined ? { lockTtlMs } : {}),
          // logged synchronously: a forked line could still be queued when the run ends (the last one was lost)
          onProgress: yield* backfillObserver(progressLogger(started, (e) => runLog(e), writtenTo))
        })
      })

    const [result, demoStatus] = yield* (!needsRedis(kind)
      ? Effect.map(runInto(makeStreamSink(kind, options.format, output)), (r) => [r, undefined] as const)
      : Effect.gen(function*() {
        const sink = yield* makeRedisBackedSink(kind, prefix!, options.format)
        const result = yield* runInto(sink)
        // the epoch streams' own status (what a consumer reads next) ends a demo
        const store = summarize ? sink.coordinator : undefined
        return [result, store === undefined ? undefined : yield* store.status()] as const
      }).pipe(Effect.provide(RedisLive.layer({ url: settings.redisUrl })))
    ).pipe(Effect.provide(Layer.mergeAll(indexLayer, queryLayer)))

    if (result.target !== undefined) {
      const seconds = (performance.now() - started) / 1000
      yield* Console.error(`Relayed epochs up to ${result.target}: ${result.epochs} epochs, ${result.blocks} blocks in ${seconds.toFixed(1)} s`)
    }
    const redisUrl = redactUrl(Redacted.value(settings.redisUrl))
    if (demoStatus !== undefined) {
      yield* Console.error(demoSummary({
        redisUrl,
        prefix: prefix!,
        relayedEpochs: result.target === undefined ? 0 : result.epochs,
        lowWatermark: demoStatus.low_watermark,
        lastSyncedEpoch: demoStatus.last_synced_epoch
      }))
    } else if (summarize && kind === "redis-list") {
      yield* Console.error(listSummary({ redisUrl, prefix: prefix!, target: result.target }))
    } else if (summarize && !needsRedis(kind)) {
      yield* Console.error(streamSummary({
        sink: kind,
        output: toFile ? output : undefined,
        format: options.format,
        epochs: result.epochs,
        blocks: result.blocks,
        target: result.target
      }))
    }
  })
