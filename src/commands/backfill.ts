/**
 * `hecate backfill`: relay finalized epochs into a sink, oldest first (the Python Hecate's command,
 * same flags, defaults and exit codes). `--simulator` runs it against an embedded simulator, so a
 * newcomer sees it work with nothing but Redis. The command is its flags, the settings they
 * override (src/cli/command.ts) and one program: the library's backfill into the chosen sink.
 */
import { availableParallelism } from "node:os"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { configFlag, endpointFlag, intFlag, logFormatFlag, sharedOverrides } from "../config/flags.js"
import { defaultConcurrency, type RangedFlag } from "../config/settings.js"
import { backfill } from "../backfill/backfill.js"
import { EpochIndex } from "../backfill/epoch-index.js"
import { detectNetwork } from "../backfill/network.js"
import type { BlockSink } from "../sinks/BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES, needsRedis, SINK_KINDS, type SinkKind } from "../sinks/capabilities.js"
import { makeRedisBackedSink, makeStreamSink, sinkPrefix } from "../sinks/choose.js"
import { DEFAULT_LIST_PREFIX } from "../sinks/redis-list.js"
import { demoSummary, listSummary, progressLogger, streamSummary } from "../backfill/summary.js"
import { runCommand } from "../cli/command.js"
import { isOutputClosed } from "../cli/process.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { distributedFlags } from "../distributed/flags.js"
import { backfillObserver, observeSink } from "../observability/instrument.js"
import { Telemetry } from "../observability/Telemetry.js"
import { observabilityFlags, observeRun, runParameters } from "../observability/run.js"
import { RedisLive } from "../layers/RedisLive.js"
import { HecateConfig, InvalidConfiguration } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { redactUrl } from "../services/Redis.js"

const optionalInt = (name: RangedFlag, description: string) =>
  intFlag(name).pipe(Flag.withDescription(description), Flag.optional)

export const backfillFlags = {
  startEpoch: optionalInt("start-epoch", "First epoch (default 208 on mainnet, the first epoch elsewhere)"),
  endEpoch: optionalInt("end-epoch", "Last epoch, inclusive (default and cap: the last finalized epoch)"),
  concurrency: optionalInt("concurrency", "Epochs synced in parallel (default HECATE_BACKFILL_CONCURRENCY, else half the CPUs, at least 1)"),
  batchSize: optionalInt("batch-size", "Blocks per sink batch (default BATCH_SIZE, 500; 0 = BATCH_SIZE)"),
  sink: Flag.Literals("sink", SINK_KINDS).pipe(Flag.withDescription("Where blocks go"), Flag.withDefault<SinkKind>("redis")),
  endpoint: endpointFlag(),
  redisPrefix: Flag.String("redis-prefix").pipe(
    Flag.withDescription("Key prefix (default hecate:history: for redis, hecate: for redis-list)"),
    Flag.optional
  ),
  purgeOrphans: Flag.Boolean("purge-orphans").pipe(
    Flag.withDescription("Let the purge drop published epochs below the window that no consumer group registered for"),
    Flag.withDefault(false)
  ),
  rebaseOrderingBase: Flag.Boolean("rebase-ordering-base").pipe(
    Flag.withDescription("Allow a window starting above last_synced_epoch + 1 by moving the base up"),
    Flag.withDefault(false)
  ),
  format: Flag.Literals("format", WIRE_FORMATS).pipe(
    Flag.withDescription("Block wire format: hecate (prepare_block, as the Python Hecate writes) or ogmios (untouched)"),
    Flag.withDefault<"hecate" | "ogmios">("hecate")
  ),
  output: Flag.String("output").pipe(Flag.withDescription("jsonl sink: file to append to (default stdout)"), Flag.optional),
  inFlight: optionalInt("in-flight", "nextBlock requests in flight, shared by the epochs synced at once (default HECATE_IN_FLIGHT, 100)"),
  retries: optionalInt("retries", "Further attempts per epoch (default HECATE_EPOCH_RETRIES, 3)"),
  retryDelay: optionalInt("retry-delay", "Seconds between attempts (default HECATE_EPOCH_RETRY_DELAY_S, 10)"),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withDescription("Run against an embedded simulator (a short custom chain) instead of OGMIOS_ENDPOINTS"),
    Flag.withDefault(false)
  ),
  logFormat: logFormatFlag,
  config: configFlag,
  ...observabilityFlags,
  ...distributedFlags
}

type Flags = {
  readonly [K in keyof typeof backfillFlags]: (typeof backfillFlags)[K] extends Flag.Flag<infer A> ? A : never
}

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

/** The flags that override settings. */
const overrides = (flags: Flags) => ({
  ...sharedOverrides(flags),
  // 0 = BATCH_SIZE
  batchSize: Option.getOrUndefined(flags.batchSize) || undefined,
  inFlight: Option.getOrUndefined(flags.inFlight),
  // the same settings as the backfill of sync and serve, so one variable sets all three
  backfillConcurrency: Option.isSome(flags.concurrency) ? flags.concurrency : undefined,
  epochRetries: Option.getOrUndefined(flags.retries),
  epochRetryDelaySeconds: Option.getOrUndefined(flags.retryDelay)
})

/** An embedded simulator for the run's lifetime, when `--simulator` asks for one. */
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

const program = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const connector = yield* OgmiosConnector
    if (Option.isSome(flags.startEpoch) && Option.isSome(flags.endEpoch) && flags.startEpoch.value > flags.endEpoch.value) {
      return yield* emptyRange(flags.startEpoch.value, flags.endEpoch.value)
    }
    const simulator = flags.simulator ? yield* embeddedSimulator : undefined
    const endpoints = simulator !== undefined ? [simulator.url] : connector.endpoints
    const ogmiosLayer = (eps: ReadonlyArray<string>) => connector.layer("bounded", eps)
    const queryLayer = ogmiosLayer(endpoints)
    const network = yield* detectNetwork.pipe(Effect.provide(queryLayer))
    const indexLayer = EpochIndex.layer({ network, cachePath: settings.epochCachePath })

    const lockTtlMs = Option.getOrUndefined(settings.lockTtl)
    const output = Option.getOrUndefined(flags.output)
    const toFile = output !== undefined && output !== "-"
    const kind = flags.sink
    const capabilities = BACKFILL_SINK_CAPABILITIES[kind]
    const prefix = needsRedis(kind) ? sinkPrefix(kind, Option.getOrUndefined(flags.redisPrefix), settings.historyPrefix) : undefined
    const writtenTo = flags.distributed || !capabilities.text ? undefined : kind === "jsonl" && toFile ? output : "stdout"
    // a newcomer's demo, or anyone at a terminal: end with what was written where and how to read it
    const summarize = flags.simulator || process.stderr.isTTY === true
    const started = performance.now()
    const runLog = Effect.runSyncWith(yield* Effect.context<never>())

    const runInto = (sink: BlockSink) =>
      Effect.gen(function*() {
        const telemetry = yield* Telemetry
        const observed = observeSink(sink, telemetry.live)
        // the coordinator (and BullMQ with it) loads only for a --distributed run
        const run = flags.distributed ? (yield* Effect.promise(() => import("../distributed/coordinator.js"))).runDistributedBackfill({ ...flags, concurrency: settings.backfillConcurrency }) : backfill
        return yield* run(observed, {
          startEpoch: Option.getOrUndefined(flags.startEpoch),
          endEpoch: Option.getOrUndefined(flags.endEpoch),
          concurrency: Option.getOrElse(settings.backfillConcurrency, () => defaultConcurrency(availableParallelism())),
          batchSize: settings.batchSize,
          inFlight: settings.inFlight,
          endpoints,
          ogmiosLayer,
          retries: settings.epochRetries,
          retryDelay: `${settings.epochRetryDelaySeconds} seconds`,
          purgeOrphans: flags.purgeOrphans,
          rebaseOrderingBase: flags.rebaseOrderingBase,
          maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
          ...(lockTtlMs !== undefined ? { lockTtlMs } : {}),
          // logged synchronously: a forked line could still be queued when the run ends (the last one was lost)
          onProgress: yield* backfillObserver(progressLogger(started, (e) => runLog(e), writtenTo))
        })
      })

    const [result, demoStatus] = yield* (!needsRedis(kind)
      ? Effect.map(runInto(makeStreamSink(kind, flags.format, output)), (r) => [r, undefined] as const)
      : Effect.gen(function*() {
        const sink = yield* makeRedisBackedSink(kind, prefix!, flags.format)
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
        format: flags.format,
        epochs: result.epochs,
        blocks: result.blocks,
        target: result.target
      }))
    }
  })

const run = (flags: Flags) =>
  program(flags).pipe(
    Effect.scoped,
    observeRun({
      command: "backfill",
      parameters: runParameters(flags),
      http: { port: flags.httpPort, host: flags.httpHost },
      usesRedis: flags.distributed || BACKFILL_SINK_CAPABILITIES[flags.sink].needsRedis,
      historyPrefix: Option.getOrUndefined(flags.redisPrefix),
      writes: flags.sink === "redis" || flags.distributed ? "history"
        : flags.sink === "redis-list" ? { prefix: Option.getOrElse(flags.redisPrefix, () => DEFAULT_LIST_PREFIX) }
        : undefined,
      distributed: flags.distributed ? { queue: Option.getOrUndefined(flags.queue) } : undefined,
      ...(flags.endpoint.length > 0 ? { endpoints: flags.endpoint } : {})
    }),
    Effect.provide(Telemetry.layer),
    // a closed pipe (`--sink jsonl | head`) ends quietly: there is no one to tell
    Effect.onInterrupt(() => isOutputClosed() ? Effect.void : Console.log("Interrupted. Rerun to resume.")),
    runCommand({ overrides: overrides(flags), failure: "Backfill incomplete" })
  )

export const backfillCommand = Command.make("backfill", backfillFlags, run).pipe(
  Command.withDescription("Relay finalized epochs oldest first: per-epoch Redis streams committed in ascending order")
)
