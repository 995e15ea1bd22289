/**
 * `hecate sync`: backfill the finalized epochs into the epoch streams, then relay from exactly the
 * block after the last backfilled one: no gap and no overlap between the epoch streams and the
 * relay stream, also when the tip moves during the backfill (the relay catches up from the seam).
 *
 * - The backfill target is the last epoch that is both finalized (current − 1) and stable: its last
 *   block lies before the stability window (3k/f slots behind the tip), so it has at least k blocks
 *   on top and can never be rolled back under the relay's start point.
 * - The relay cursor is created at the last block of `last_synced_epoch` (the epoch index row's end
 *   point) and records the seam (`seam_epoch`, `seam_slot`, `seam_hash`, `seam_height`).
 * - When the relay cursor already exists, the backfill is skipped: the relay stream already covers
 *   everything after the seam, and backfilling more epochs would publish those blocks twice.
 */
import { availableParallelism } from "node:os"
import { Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { configFlag, endpointFlag, historyPrefixFlag, intFlag, logFormatFlag } from "../config/flags.js"
import { DEFAULT_MAX_LAG, DEFAULT_RETAIN, defaultConcurrency, type RangedFlag } from "../config/settings.js"
import { runCommand } from "../cli/command.js"
import { stopNotice } from "../cli/process.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { RedisLive } from "../layers/RedisLive.js"
import { syncThenRelay } from "../relay/sync.js"
import { RelayStore } from "../relay/RelayStore.js"
import { HecateConfig } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { DEPTH_SETTING, relayOverrides } from "./relay.js"

const optionalInt = (name: RangedFlag, description: string) => intFlag(name).pipe(Flag.withDescription(description), Flag.optional)

export const syncFlags = {
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX)"), Flag.optional),
  historyPrefix: historyPrefixFlag,
  format: Flag.Literals("format", WIRE_FORMATS).pipe(
    Flag.withDescription("Block format of both the epoch streams and the relay"),
    Flag.withDefault<"hecate" | "ogmios">("hecate")
  ),
  depth: optionalInt("depth", "Relay finality depth (default HECATE_RELAY_DEPTH, else the network's k)"),
  endpoint: endpointFlag(),
  concurrency: optionalInt("concurrency", "Epochs backfilled in parallel (default HECATE_BACKFILL_CONCURRENCY, else half the CPUs)"),
  inFlight: optionalInt("in-flight", "nextBlock requests in flight per session (default HECATE_IN_FLIGHT)"),
  retries: optionalInt("retries", "Further attempts per epoch (default HECATE_EPOCH_RETRIES, 3)"),
  retryDelay: optionalInt("retry-delay", "Seconds between epoch attempts (default HECATE_EPOCH_RETRY_DELAY_S, 10)"),
  maxLag: intFlag("max-lag").pipe(Flag.withDescription("Relay backpressure: max consumer-group lag (0 = off)"), Flag.withDefault(DEFAULT_MAX_LAG)),
  maxLength: intFlag("max-length").pipe(Flag.withDescription("Relay backpressure: max XLEN events (0 = off)"), Flag.withDefault(0)),
  retain: intFlag("retain").pipe(Flag.withDescription("Relay writes kept beyond the window (0 = never trim)"), Flag.withDefault(DEFAULT_RETAIN)),
  logFormat: logFormatFlag,
  config: configFlag
}

type Flags = { readonly [K in keyof typeof syncFlags]: (typeof syncFlags)[K] extends Flag.Flag<infer A> ? A : never }

/** "1/20", "0.05" → 0.05 */
export { lastStableEpoch } from "../relay/sync.js"

const program = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const connector = yield* OgmiosConnector
    const relayPrefix = Option.getOrElse(flags.redisPrefix, () => settings.relayPrefix)
    // sync starts with a backfill: its queries give up like the backfill's (exit 10), the relay phase follows forever
    const queries = connector.layer("bounded")
    const redisLayer = RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-sync" })
    const storeLayer = RelayStore.layer({ prefix: relayPrefix, retain: flags.retain }).pipe(Layer.provide(redisLayer))
    const configuredDepth = Option.getOrUndefined(settings.relayDepth)
    const logFork = Effect.runForkWith(yield* Effect.context<never>())
    return yield* syncThenRelay({
      relay: {
        depthSetting: DEPTH_SETTING,
        ...(configuredDepth === undefined ? {} : { depth: configuredDepth }),
        format: flags.format,
        maxLag: flags.maxLag,
        maxLength: flags.maxLength
      },
      historyPrefix: settings.historyPrefix,
      epochCachePath: settings.epochCachePath,
      backfill: {
        // the flags reach here as overrides of these settings (serve's backfill reads the same ones)
        concurrency: Option.getOrElse(settings.backfillConcurrency, () => defaultConcurrency(availableParallelism())),
        batchSize: settings.batchSize,
        retries: settings.epochRetries,
        retryDelay: `${settings.epochRetryDelaySeconds} seconds`,
        maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs
      },
      onBackfillProgress: (event) => {
        if (event._tag === "BackpressurePaused") {
          logFork(Effect.logWarning(`consumers lag ${event.lag} epochs (REDIS_MAX_UNCONSUMED_EPOCHS): the backfill waits for them`))
        } else if (event._tag === "Committed") logFork(Effect.logInfo(`committed: last_synced_epoch = ${event.lastSyncedEpoch}`))
      }
    }).pipe(Effect.provide(Layer.mergeAll(queries, storeLayer, redisLayer)))
  })

const run = (flags: Flags) =>
  program(flags).pipe(
    Effect.scoped,
    Effect.onInterrupt(() => stopNotice("Interrupted. Rerun to resume.")),
    runCommand({
      overrides: relayOverrides(flags, {
        historyPrefix: Option.getOrUndefined(flags.historyPrefix),
        backfillConcurrency: Option.isSome(flags.concurrency) ? flags.concurrency : undefined,
        epochRetries: Option.getOrUndefined(flags.retries),
        epochRetryDelaySeconds: Option.getOrUndefined(flags.retryDelay)
      }),
      failure: "Sync stopped"
    })
  )

export const syncCommand = Command.make("sync", syncFlags, run).pipe(
  Command.withDescription("Backfill the finalized epochs, then relay from the block after the last one (a seamless seam)")
)
