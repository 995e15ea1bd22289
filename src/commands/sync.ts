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
import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { backfill } from "../backfill/backfill.js"
import { epochOfSlot } from "../backfill/epoch-derivation.js"
import { EpochIndex } from "../backfill/epoch-index.js"
import { detectNetwork } from "../backfill/network.js"
import { makeRedisSink } from "../backfill/sinks/index.js"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { loggingLayer } from "../cli/logging.js"
import { reportExpectedFailures } from "../cli/report.js"
import { formatPoint } from "../domain/point.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { OgmiosLive } from "../layers/OgmiosLive.js"
import { RedisLive } from "../layers/RedisLive.js"
import { relay, type RelayFrom } from "../relay/relay.js"
import { RelayStore } from "../relay/RelayStore.js"
import { Ogmios } from "../services/Ogmios.js"
import { Redis } from "../services/Redis.js"
import { ogmiosQueries, relaySettings } from "./relay.js"

const optionalInt = (name: string, description: string) => Flag.Int(name).pipe(Flag.withDescription(description), Flag.optional)

export const syncFlags = {
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX)"), Flag.optional),
  historyPrefix: Flag.String("history-prefix").pipe(
    Flag.withDescription("Epoch-stream key prefix (default HECATE_HISTORY_PREFIX)"),
    Flag.optional
  ),
  format: Flag.Literals("format", WIRE_FORMATS).pipe(
    Flag.withDescription("Block format of both the epoch streams and the relay"),
    Flag.withDefault<"hecate" | "ogmios">("hecate")
  ),
  depth: optionalInt("depth", "Relay finality depth (default HECATE_RELAY_DEPTH, else the network's k)"),
  endpoint: Flag.String("endpoint").pipe(
    Flag.withDescription("Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS)"),
    Flag.atLeast(0)
  ),
  concurrency: optionalInt("concurrency", "Epochs backfilled in parallel (default: half the CPUs)"),
  inFlight: optionalInt("in-flight", "nextBlock requests in flight per session (default HECATE_IN_FLIGHT)"),
  retries: Flag.Int("retries").pipe(Flag.withDescription("Further attempts per epoch"), Flag.withDefault(3)),
  retryDelay: Flag.Int("retry-delay").pipe(Flag.withDescription("Seconds between epoch attempts"), Flag.withDefault(10)),
  maxLag: Flag.Int("max-lag").pipe(Flag.withDescription("Relay backpressure: max consumer-group lag (0 = off)"), Flag.withDefault(10_000)),
  maxLength: Flag.Int("max-length").pipe(Flag.withDescription("Relay backpressure: max XLEN events (0 = off)"), Flag.withDefault(0)),
  retain: Flag.Int("retain").pipe(Flag.withDescription("Relay writes kept beyond the window (0 = never trim)"), Flag.withDefault(100_000)),
  logFormat: Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional)
}

type Flags = { readonly [K in keyof typeof syncFlags]: (typeof syncFlags)[K] extends Flag.Flag<infer A> ? A : never }

/** "1/20", "0.05" → 0.05 */
const parseCoefficient = (text: string): number => {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  return m ? Number(m[1]) / Number(m[2]) : Number(text)
}

/**
 * The last epoch whose last block is stable: it ends before the stability window (3k/f slots
 * behind the tip), and every block that old has at least k blocks on top (Praos chain growth).
 */
export const lastStableEpoch = Effect.gen(function*() {
  const ogmios = yield* Ogmios
  const [tip, genesis, summaries, epoch] = yield* Effect.all([
    ogmios.queryNetworkTip(),
    ogmios.queryNetworkGenesisConfiguration("shelley"),
    ogmios.queryLedgerStateEraSummaries(),
    ogmios.queryLedgerStateEpoch()
  ])
  if (tip === "origin") return { epoch: -1, k: genesis.securityParameter }
  const f = parseCoefficient(String(genesis.activeSlotsCoefficient))
  const stableSlot = tip.slot - Math.ceil((3 * genesis.securityParameter) / (f > 0 && f <= 1 ? f : 1))
  const stable = stableSlot < 0 ? -1 : epochOfSlot(summaries, stableSlot) - 1
  return { epoch: Math.min(stable, epoch - 1), k: genesis.securityParameter }
})

const run = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* relaySettings(flags)
    const endpoints = settings.ogmiosEndpoints
    const relayPrefix = Option.getOrElse(flags.redisPrefix, () => settings.relayPrefix)
    const historyPrefix = Option.getOrElse(flags.historyPrefix, () => settings.historyPrefix)
    const queries = ogmiosQueries(settings)
    const redisLayer = RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-sync" })
    const storeLayer = RelayStore.layer({ prefix: relayPrefix, retain: flags.retain }).pipe(Layer.provide(redisLayer))
    const configuredDepth = Option.getOrUndefined(settings.relayDepth)

    const relayFrom = (from: RelayFrom, fromHeight: number | undefined, initFields: Record<string, string> | undefined) =>
      relay({
        endpoints,
        from,
        ...(fromHeight === undefined ? {} : { fromHeight }),
        ...(initFields === undefined ? {} : { initFields }),
        ...(configuredDepth === undefined ? {} : { depth: configuredDepth }),
        format: flags.format,
        inFlight: settings.inFlight,
        maxLag: flags.maxLag,
        maxLength: flags.maxLength
      })

    return yield* Effect.gen(function*() {
      const store = yield* RelayStore
      const existing = yield* store.read()
      if (existing !== undefined) {
        const seam = existing.fields["seam_epoch"]
        yield* Effect.logInfo(
          `relay cursor exists${seam === undefined ? "" : ` (seam after epoch ${seam})`}: the backfill is done, resuming the relay`
        )
        return yield* relayFrom("cursor", undefined, undefined)
      }

      const network = yield* detectNetwork
      const indexLayer = EpochIndex.layer({ network, cachePath: settings.epochCachePath })
      const stable = yield* lastStableEpoch
      yield* Effect.logInfo(`backfilling finalized epochs up to ${stable.epoch} (the last one past the stability window), then relaying`)
      const seam = yield* Effect.gen(function*() {
        const redis = yield* Redis
        const logFork = Effect.runForkWith(yield* Effect.context<never>())
        const epochStore = makeEpochStore(redis, { prefix: historyPrefix })
        if (stable.epoch >= 0) {
          yield* backfill(makeRedisSink(epochStore, { format: flags.format }), {
            endEpoch: stable.epoch,
            concurrency: Option.getOrElse(flags.concurrency, () => Math.max(1, Math.floor(availableParallelism() / 2))),
            batchSize: settings.batchSize,
            inFlight: settings.inFlight,
            endpoints,
            ogmiosLayer: (eps) => OgmiosLive.layer({ endpoints: eps, requestTimeout: 30_000, reconnect: { maxAttempts: 3, maxDelay: 2_000 } }),
            retries: flags.retries,
            retryDelay: `${flags.retryDelay} seconds`,
            maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
            onProgress: (event) => {
              if (event._tag === "BackpressurePaused") {
                logFork(Effect.logWarning(`consumers lag ${event.lag} epochs (REDIS_MAX_UNCONSUMED_EPOCHS): the backfill waits for them`))
              } else if (event._tag === "Committed") logFork(Effect.logInfo(`committed: last_synced_epoch = ${event.lastSyncedEpoch}`))
            }
          })
        }
        const last = yield* epochStore.getLastSyncedEpoch()
        if (last === undefined) return undefined
        const index = yield* EpochIndex
        return yield* index.boundary(last)
      }).pipe(Effect.provide(Layer.mergeAll(redisLayer, indexLayer)))

      if (seam === undefined) {
        yield* Effect.logInfo("no epoch was backfilled: relaying from origin")
        return yield* relayFrom("origin", undefined, { history_prefix: historyPrefix })
      }
      const point = { slot: seam.endSlot, id: seam.endHash }
      yield* Effect.logInfo(`epoch streams end with epoch ${seam.epoch} at ${formatPoint(point)} (height ${seam.endHeight}): the relay starts after it`)
      return yield* relayFrom(point, seam.endHeight, {
        history_prefix: historyPrefix,
        seam_epoch: String(seam.epoch),
        seam_slot: String(seam.endSlot),
        seam_hash: seam.endHash,
        seam_height: String(seam.endHeight)
      })
    }).pipe(Effect.provide(Layer.mergeAll(queries, storeLayer)))
  }).pipe(
    Effect.scoped,
    Effect.onInterrupt(() => Console.error("Interrupted. Rerun to resume.")),
    reportExpectedFailures("Sync stopped"),
    Effect.provide(loggingLayer(Option.getOrElse(flags.logFormat, () => "pretty" as const), "Info"))
  )

export const syncCommand = Command.make("sync", syncFlags, run).pipe(
  Command.withDescription("Backfill the finalized epochs, then relay from the block after the last one (a seamless seam)")
)
