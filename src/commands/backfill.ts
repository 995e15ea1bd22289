/**
 * `hecate backfill`: relay finalized epochs into a sink, oldest first (the Python Hecate's command,
 * same flags, defaults and exit codes). `--simulator` runs it against an embedded simulator, so a
 * newcomer sees it work with nothing but Redis.
 */
import { availableParallelism } from "node:os"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { configFlag, intFlag } from "../config/flags.js"
import type { RangedFlag } from "../config/settings.js"
import { backfill, type BackfillProgress } from "../backfill/backfill.js"
import { EpochIndex } from "../backfill/epoch-index.js"
import { detectNetwork } from "../backfill/network.js"
import { makeCliSink, makeJsonlSink, makeRedisListSink, makeRedisSink, SINK_KINDS, type BlockSink, type SinkKind } from "../backfill/sinks/index.js"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { withCommandLogging } from "../cli/logging.js"
import { reportExpectedFailures } from "../cli/report.js"
import { isOutputClosed } from "../cli/process.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { distributedFlags } from "../distributed/flags.js"
import { backfillObserver, observeSink } from "../observability/instrument.js"
import { observabilityFlags, observeRun, runParameters } from "../observability/run.js"
import { OgmiosLive } from "../layers/OgmiosLive.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import { RedisLive } from "../layers/RedisLive.js"
import { Redis, redactUrl } from "../services/Redis.js"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import type { SimulatorHandle } from "../simulator/index.js"

const optionalInt = (name: RangedFlag, description: string) =>
  intFlag(name).pipe(Flag.withDescription(description), Flag.optional)

export const backfillFlags = {
  startEpoch: optionalInt("start-epoch", "First epoch (default 208 on mainnet, the first epoch elsewhere)"),
  endEpoch: optionalInt("end-epoch", "Last epoch, inclusive (default and cap: the last finalized epoch)"),
  concurrency: optionalInt("concurrency", "Epochs synced in parallel (default: half the CPUs, at least 1)"),
  batchSize: optionalInt("batch-size", "Blocks per sink batch (default BATCH_SIZE, 500; 0 = BATCH_SIZE)"),
  sink: Flag.Literals("sink", SINK_KINDS).pipe(Flag.withDescription("Where blocks go"), Flag.withDefault<SinkKind>("redis")),
  endpoint: Flag.String("endpoint").pipe(
    Flag.withDescription("Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS)"),
    Flag.atLeast(0)
  ),
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
  retries: intFlag("retries").pipe(Flag.withDescription("Further attempts per epoch"), Flag.withDefault(3)),
  retryDelay: intFlag("retry-delay").pipe(Flag.withDescription("Seconds between attempts"), Flag.withDefault(10)),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withDescription("Run against an embedded simulator (a short custom chain) instead of OGMIOS_ENDPOINTS"),
    Flag.withDefault(false)
  ),
  logFormat: Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional),
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

/**
 * Progress as log lines, through the command's logger (the context it was created in). A Redis
 * sink commits epochs in order after they are synced (`committed: last_synced_epoch = N`); the
 * stdout / file sinks write each block as it is synced and commit nothing, so their line says
 * where the epoch was written instead.
 */
const progressLogger = (started: number, log: (effect: Effect.Effect<void>) => void, writtenTo: string | undefined) => {
  let blocks = 0
  return (event: BackfillProgress) => {
    switch (event._tag) {
      case "EpochBatch":
        blocks += event.blocks
        return
      case "EpochSynced": {
        const seconds = (performance.now() - started) / 1000
        return log(Effect.logInfo(
          `epoch ${event.epoch}: ${event.blocks} blocks ${writtenTo === undefined ? "synced" : `written to ${writtenTo}`} ` +
            `(${Math.round(blocks / Math.max(seconds, 1e-3))} blocks/s overall)`
        ))
      }
      case "Committed":
        return writtenTo === undefined ? log(Effect.logInfo(`committed: last_synced_epoch = ${event.lastSyncedEpoch}`)) : undefined
      case "BackpressurePaused":
        return log(Effect.logWarning(`consumers lag ${event.lag} epochs: pausing until they catch up`))
      default:
        return
    }
  }
}

/**
 * After a `--simulator` run into Redis (the demo): what was written where and how to look at it,
 * for someone who has just cloned the project.
 */
export const demoSummary = (options: {
  readonly redisUrl: string
  readonly prefix: string
  /** epochs this run relayed (0: nothing was left to do) */
  readonly relayedEpochs: number
  readonly lowWatermark: number | null
  readonly lastSyncedEpoch: number | null
}): string => {
  const { prefix, lastSyncedEpoch } = options
  if (lastSyncedEpoch === null) return `Nothing is in Redis under ${prefix} yet.`
  const first = Math.min(options.lowWatermark ?? 0, lastSyncedEpoch)
  const streams = first === lastSyncedEpoch ? `${prefix}epoch:${first}` : `${prefix}epoch:${first} … ${prefix}epoch:${lastSyncedEpoch}`
  const where = `Redis at ${options.redisUrl}, one stream per epoch: ${streams}`
  const done = options.relayedEpochs === 0
    ? `Nothing left to do: epochs ${first}..${lastSyncedEpoch} are already in ${where}.`
    : `The blocks are in ${where}.`
  // redis-cli's own default is the same server; a password shows as *** and must be filled in
  const db = options.redisUrl === "redis://127.0.0.1:6379/0" || options.redisUrl === "redis://127.0.0.1:6379" ? "" : ` -u ${options.redisUrl}`
  return [
    done,
    "  Each entry is a batch of blocks (JSON). Look at them:",
    `    redis-cli${db} XLEN ${prefix}epoch:${lastSyncedEpoch}`,
    `    redis-cli${db} XRANGE ${prefix}epoch:${lastSyncedEpoch} - + COUNT 1 | head -c 400`,
    `  The namespace's progress:  npm start -- status --redis-prefix ${prefix}`,
    "  The run history:           npm start -- runs",
    ...(options.relayedEpochs === 0 ? [] : ["Run it again: it resumes and finds nothing left to do."])
  ].join("\n")
}

/**
 * After a run of a sink that does not use Redis: what was written where and how to read it.
 * `output` is the file of `--output` (appended to), undefined for stdout.
 */
export const streamSummary = (options: {
  readonly sink: "jsonl" | "cli"
  readonly output: string | undefined
  readonly format: string
  readonly epochs: number
  readonly blocks: number
  readonly target: number | undefined
}): string => {
  if (options.target === undefined) return "Nothing was written: no epoch was left to relay."
  const what = `${options.blocks} blocks of ${options.epochs} epochs (up to ${options.target})`
  if (options.sink === "cli") return `${what} were printed above, as one table per batch (--sink jsonl writes one JSON block per line instead).`
  if (options.output === undefined) {
    return [
      `${what} were written to stdout, one JSON block per line (${options.format} format).`,
      "  Keep them in a file and look at them:",
      "    npm start -- backfill … --sink jsonl --output blocks.jsonl",
      "    head -n 1 blocks.jsonl | head -c 400"
    ].join("\n")
  }
  return [
    `${what} were appended to ${options.output}, one JSON block per line (${options.format} format).`,
    "  Look at them:",
    `    wc -l ${options.output}`,
    `    tail -n 1 ${options.output} | head -c 400`
  ].join("\n")
}

/** After a run of the redis-list sink: the list it appends to and how to read it. */
export const listSummary = (options: { readonly redisUrl: string; readonly prefix: string; readonly target: number | undefined }): string => {
  const db = options.redisUrl === "redis://127.0.0.1:6379/0" || options.redisUrl === "redis://127.0.0.1:6379" ? "" : ` -u ${options.redisUrl}`
  return [
    `${options.target === undefined ? "Nothing left to do: the blocks are already" : "The blocks are"} in Redis at ${options.redisUrl}, one JSON block per element of the list ${options.prefix}blocks.`,
    "  Look at them:",
    `    redis-cli${db} LLEN ${options.prefix}blocks`,
    `    redis-cli${db} LINDEX ${options.prefix}blocks -1 | head -c 400`
  ].join("\n")
}

const run = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfigLive.load({
      configFile: Option.getOrUndefined(flags.config),
      ogmiosEndpoints: flags.endpoint.length > 0 ? flags.endpoint : undefined,
      batchSize: Option.getOrUndefined(flags.batchSize) || undefined,
      inFlight: Option.getOrUndefined(flags.inFlight),
      logFormat: Option.getOrUndefined(flags.logFormat)
    })
    const lockTtlMs = Option.getOrUndefined(settings.lockTtl)
    if (Option.isSome(flags.startEpoch) && Option.isSome(flags.endEpoch) && flags.startEpoch.value > flags.endEpoch.value) {
      // a range that is empty by its own bounds is a typo, not "nothing left to do"
      return yield* new InvalidConfiguration({
        variable: "--start-epoch",
        message: `--start-epoch ${flags.startEpoch.value} is after --end-epoch ${flags.endEpoch.value}: the range is empty — ` +
          `e.g. --start-epoch ${flags.endEpoch.value} --end-epoch ${flags.startEpoch.value}`
      })
    }

    let simulator: SimulatorHandle | undefined
    if (flags.simulator) {
      simulator = yield* Effect.acquireRelease(
        // the simulator's modules (block forging, CBOR) load only for a --simulator run
        Effect.promise(() => import("../simulator/index.js").then((m) => m.startSimulator(DEMO_SIMULATOR))),
        (sim) => Effect.promise(() => sim.stop())
      )
      const tip = simulator.chain.tip()
      yield* Effect.logInfo(`embedded simulator at ${simulator.url} (custom network, tip height ${tip === "origin" ? "-" : tip.height})`)
    }
    const endpoints = simulator !== undefined ? [simulator.url] : settings.ogmiosEndpoints
    const ogmiosLayer = (eps: ReadonlyArray<string>) => OgmiosLive.fromSettings(settings, "bounded", eps)

    const queryLayer = ogmiosLayer(endpoints)
    const network = yield* detectNetwork.pipe(Effect.provide(queryLayer))
    const indexLayer = EpochIndex.layer({ network, cachePath: settings.epochCachePath })

    const needsRedis = flags.sink === "redis" || flags.sink === "redis-list"
    const historyPrefix = Option.getOrElse(flags.redisPrefix, () => settings.historyPrefix)
    const makeSink = Effect.gen(function*(): Effect.fn.Return<BlockSink, never, Redis> {
      const redis = yield* Redis
      switch (flags.sink) {
        case "redis": {
          return makeRedisSink(makeEpochStore(redis, { prefix: historyPrefix }), { format: flags.format })
        }
        case "redis-list":
          return makeRedisListSink(redis, { prefix: Option.getOrElse(flags.redisPrefix, () => "hecate:"), format: flags.format })
        case "cli":
          return makeCliSink()
        case "jsonl":
          return makeJsonlSink({ format: flags.format, ...Option.match(flags.output, { onNone: () => ({}), onSome: (path) => ({ path }) }) })
      }
    })
    const redisLayer = needsRedis
      ? RedisLive.layer({ url: settings.redisUrl })
      : Layer.succeed(Redis, Redis.of({
        url: Redacted.make(""),
        use: () => Effect.die("this sink does not use Redis"),
        duplicate: () => Effect.die("this sink does not use Redis")
      } as never))

    const started = performance.now()
    const runLog = Effect.runSyncWith(yield* Effect.context<never>())
    const output = Option.getOrUndefined(flags.output)
    const toFile = output !== undefined && output !== "-"
    const writtenTo = flags.distributed || needsRedis ? undefined : flags.sink === "jsonl" && toFile ? output : "stdout"
    // a newcomer's demo, or anyone at a terminal: end with what was written where and how to read it
    const summarize = flags.simulator || process.stderr.isTTY === true
    const demo = summarize && flags.sink === "redis"
    const [result, demoStatus] = yield* Effect.gen(function*() {
      const sink = observeSink(yield* makeSink)
      // the coordinator (and BullMQ with it) loads only for a --distributed run
      const run = flags.distributed ? (yield* Effect.promise(() => import("../distributed/coordinator.js"))).runDistributedBackfill(flags) : backfill
      const result = yield* run(sink, {
        startEpoch: Option.getOrUndefined(flags.startEpoch),
        endEpoch: Option.getOrUndefined(flags.endEpoch),
        concurrency: Option.getOrElse(flags.concurrency, () => Math.max(1, Math.floor(availableParallelism() / 2))),
        batchSize: settings.batchSize,
        inFlight: settings.inFlight,
        endpoints,
        ogmiosLayer,
        retries: flags.retries,
        retryDelay: `${flags.retryDelay} seconds`,
        purgeOrphans: flags.purgeOrphans,
        rebaseOrderingBase: flags.rebaseOrderingBase,
        maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
        ...(lockTtlMs !== undefined ? { lockTtlMs } : {}),
        // logged synchronously: a forked line could still be queued when the run ends (the last one was lost)
        onProgress: backfillObserver(progressLogger(started, (e) => runLog(e), writtenTo))
      })
      const demoStatus = demo ? yield* makeEpochStore(yield* Redis, { prefix: historyPrefix }).status() : undefined
      return [result, demoStatus] as const
    }).pipe(Effect.provide(Layer.mergeAll(redisLayer, indexLayer, queryLayer)))

    if (result.target !== undefined) {
      const seconds = (performance.now() - started) / 1000
      yield* Console.error(
        `Relayed epochs up to ${result.target}: ${result.epochs} epochs, ${result.blocks} blocks in ${seconds.toFixed(1)} s`
      )
    }
    if (demoStatus !== undefined) {
      yield* Console.error(demoSummary({
        redisUrl: redactUrl(Redacted.value(settings.redisUrl)),
        prefix: historyPrefix,
        relayedEpochs: result.target === undefined ? 0 : result.epochs,
        lowWatermark: demoStatus.low_watermark,
        lastSyncedEpoch: demoStatus.last_synced_epoch
      }))
    } else if (summarize && flags.sink === "redis-list") {
      yield* Console.error(listSummary({
        redisUrl: redactUrl(Redacted.value(settings.redisUrl)),
        prefix: Option.getOrElse(flags.redisPrefix, () => "hecate:"),
        target: result.target
      }))
    } else if (summarize && (flags.sink === "jsonl" || flags.sink === "cli")) {
      yield* Console.error(streamSummary({
        sink: flags.sink,
        output: toFile ? output : undefined,
        format: flags.format,
        epochs: result.epochs,
        blocks: result.blocks,
        target: result.target
      }))
    }
  }).pipe(
    Effect.scoped,
    observeRun({
      command: "backfill",
      parameters: runParameters(flags),
      http: { port: flags.httpPort, host: flags.httpHost },
      config: Option.getOrUndefined(flags.config),
      usesRedis: flags.distributed || flags.sink === "redis" || flags.sink === "redis-list",
      historyPrefix: Option.getOrUndefined(flags.redisPrefix),
      writes: flags.sink === "redis" || flags.distributed ? "history"
        : flags.sink === "redis-list" ? { prefix: Option.getOrElse(flags.redisPrefix, () => "hecate:") }
        : undefined,
      distributed: flags.distributed ? { queue: Option.getOrUndefined(flags.queue) } : undefined,
      ...(flags.endpoint.length > 0 ? { endpoints: flags.endpoint } : {})
    }),
    // a closed pipe (`--sink jsonl | head`) ends quietly: there is no one to tell
    Effect.onInterrupt(() => isOutputClosed() ? Effect.void : Console.log("Interrupted. Rerun to resume.")),
    reportExpectedFailures("Backfill incomplete"),
    withCommandLogging(flags)
  )

export const backfillCommand = Command.make("backfill", backfillFlags, run).pipe(
  Command.withDescription("Relay finalized epochs oldest first: per-epoch Redis streams committed in ascending order")
)
