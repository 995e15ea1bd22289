/**
 * `hecate serve`: the long-running service (docs/serve.md). Under one supervisor (a structured
 * `Effect.all`: if a component fails fatally the others are stopped and the process exits with its
 * code; transient failures are retried inside each component):
 *
 * - the realtime relay into Redis (src/relay: exactly-once events/final with an atomic cursor;
 *   a fresh prefix first backfills the finalized epochs and relays from the block after them, as
 *   `sync` does (src/relay/sync.ts) — or, with `--relay-start tip|origin`, relays from there without
 *   a backfill; afterwards it always resumes at the stored cursor);
 * - the epoch refresh on its Effect schedule (cron HECATE_REFRESH_CRON or an interval; never fails
 *   the service);
 * - HTTP on HECATE_HTTP_HOST:HECATE_HTTP_PORT (--http-host, default 127.0.0.1), served by
 *   src/observability: the dashboard at /, GET /health (200 following / 202 catching up / 503 Redis or
 *   Ogmios unreachable, JSON), GET /metrics (Prometheus text), GET /api/state.
 * - The relay component starts over while Redis or Ogmios is unreachable (at start too); every
 *   relay and refresh run is recorded in the run history (`hecate runs`).
 *
 * Configuration: flags > environment > hecate.config.json (--config / HECATE_CONFIG) > .env > defaults.
 * SIGTERM stops it cleanly: the relay's in-flight write (one atomic Lua call that also moves the
 * cursor) either landed or did not, connections close, and the process exits 0. SIGINT exits 130.
 */
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { Cause, Console, Duration, Effect, Exit, Layer, Option, Redacted, Schedule } from "effect"
import { Command, Flag } from "effect/cli"
import { historyPrefixFlag, intFlag } from "../config/flags.js"
import { runCommand } from "../cli/command.js"
import { exitZeroOnSigterm } from "../cli/process.js"
import { type ConfigFile, HecateConfigFile } from "../config/file.js"
import { RedisLive } from "../layers/RedisLive.js"
import { describeFailure, instrumentRelayStore, live, makeHealthChecker, makeRunHistory, observabilityServer, RunRecorder, withRunLog } from "../observability/index.js"
import { syncThenRelay } from "../relay/sync.js"
import { clusterSchedule } from "../distributed/schedule.js"
import { bullPrefix } from "../distributed/settings.js"
import { relay } from "../relay/relay.js"
import { RelayStore } from "../relay/RelayStore.js"
import { relayKeys } from "../relay/keys.js"
import { describeCommit, type RefreshReport, runRefreshJob } from "../refresh/job.js"
import { describeRefresh } from "../refresh/refresh.js"
import { makeRefreshScheduler, type RefreshSchedulerStatus } from "../refresh/schedule.js"
import { parseInterval, refreshTrigger } from "../refresh/service.js"
import { HecateConfig, InvalidConfiguration, type HecateSettings } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { Redis } from "../services/Redis.js"

export const serveFlags = {
  config: Flag.String("config").pipe(Flag.withDescription("Config file (default HECATE_CONFIG, else ./hecate.config.json if present)"), Flag.optional),
  endpoint: Flag.String("endpoint").pipe(Flag.withDescription("Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS)"), Flag.atLeast(0)),
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  historyPrefix: historyPrefixFlag,
  relayStart: Flag.Literals("relay-start", ["tip", "origin"] as const).pipe(
    Flag.withDescription("Relay a fresh prefix from here without backfilling (default: sync — backfill the finalized epochs, then relay after them); an existing cursor always resumes"),
    Flag.optional
  ),
  httpPort: intFlag("http-port").pipe(Flag.withDescription("Port of the dashboard, /health and /metrics (default HECATE_HTTP_PORT, 9464; 0 = any free port)"), Flag.optional),
  httpHost: Flag.String("http-host").pipe(Flag.withDescription("Address HTTP binds (default HECATE_HTTP_HOST, 127.0.0.1)"), Flag.optional),
  healthMaxDistance: intFlag("health-max-distance").pipe(
    Flag.withDescription("/health is 200 while the relay is at most this many blocks behind the tip, 202 beyond (default HECATE_HEALTH_MAX_DISTANCE, 5)"),
    Flag.optional
  ),
  noHttp: Flag.Boolean("no-http").pipe(Flag.withDescription("Do not serve /health and /metrics"), Flag.withDefault(false)),
  refreshCron: Flag.String("refresh-cron").pipe(Flag.withDescription("Cron of the epoch refresh, UTC (default HECATE_REFRESH_CRON, 0 0 * * *)"), Flag.optional),
  refreshInterval: Flag.String("refresh-interval").pipe(Flag.withDescription("Run the refresh at a fixed interval instead, e.g. \"6 hours\""), Flag.optional),
  refreshCluster: Flag.Boolean("refresh-cluster").pipe(
    Flag.withDescription("Several serve instances share one Redis: fire the refresh once per tick across all of them (a BullMQ job scheduler) instead of once per instance"),
    Flag.withDefault(false)
  ),
  noRefresh: Flag.Boolean("no-refresh").pipe(Flag.withDescription("Do not run the scheduled epoch refresh"), Flag.withDefault(false)),
  logFormat: Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional)
}

type Flags = { readonly [K in keyof typeof serveFlags]: (typeof serveFlags)[K] extends Flag.Flag<infer A> ? A : never }

/** Errors after which the relay component starts over (Redis or Ogmios not reachable yet, or gone). */
const TRANSIENT = new Set(["RedisError", "ConnectionLost", "RequestTimeout"])

const serveWith = (flags: Flags, fc: ConfigFile, filePath: string | undefined, settings: HecateSettings) =>
  Effect.gen(function*() {
    const connector = yield* OgmiosConnector
    const intervalText = Option.getOrUndefined(flags.refreshInterval) ?? fc.refresh?.interval
    const interval = intervalText === undefined ? undefined : parseInterval(intervalText)
    if (intervalText !== undefined && interval === undefined) {
      return yield* new InvalidConfiguration({
        variable: "--refresh-interval",
        message: `the refresh interval must be a positive duration like "6 hours" or "30 seconds", got ${JSON.stringify(intervalText)}`
      })
    }
    const refreshEnabled = !flags.noRefresh && (fc.refresh?.enabled ?? true)
    const httpEnabled = !flags.noHttp && (fc.http?.enabled ?? true)
    const prefix = settings.relayPrefix
    const relayStart = Option.getOrUndefined(flags.relayStart)
    if (filePath !== undefined) yield* Effect.logInfo(`config file ${filePath}`)

    const maxDistance = Option.getOrElse(flags.healthMaxDistance, () => settings.healthMaxDistance)
    const redisUrl = Redacted.value(settings.redisUrl)
    const runs = makeRunHistory({ url: redisUrl, prefix: settings.runsPrefix, keep: settings.runsKeep })
    yield* Effect.addFinalizer(() => Effect.sync(() => runs.close()))
    live.commands.add("serve")

    // ---- refresh schedule: every run is recorded in the run history
    const refreshJob = Effect.suspend(() => {
      const recorder = new RunRecorder(runs, {
        command: "refresh",
        parameters: { via: "serve", trigger: interval === undefined ? settings.refreshCron : intervalText, commit: fc.refresh?.commit ?? false }
      })
      recorder.start()
      return runRefreshJob({
        dataDir: fc.refresh?.dataDir === undefined ? undefined : resolve(fc.refresh.dataDir),
        cachePath: resolve(settings.epochCachePath),
        commit: fc.refresh?.commit
      }).pipe(
        Effect.provideService(OgmiosConnector, connector),
        withRunLog(recorder),
        Effect.annotateLogs({ run: recorder.id }),
        Effect.onExit((exit) =>
          Effect.promise(() =>
            Exit.isSuccess(exit)
              ? recorder.finish("Completed")
              : recorder.finish(Cause.hasInterruptsOnly(exit.cause) ? "Cancelled" : "Failed", describeFailure(exit.cause))
          )
        )
      )
    })
    const scheduler = yield* makeRefreshScheduler(refreshJob, {
      trigger: refreshTrigger(settings, interval),
      runOnStart: fc.refresh?.runOnStart,
      retry: fc.refresh?.retries === undefined ? undefined : { times: fc.refresh.retries },
      describe: (r) => {
        const report = r as RefreshReport
        return describeRefresh(report.result) + (report.commit !== undefined ? ` ${describeCommit(report.commit)}` : "")
      }
    })

    // ---- relay (fresh prefix: relayStart; else resume the cursor), instrumented for the metrics
    const redisLayer = RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-serve" })
    const relayLayers = Layer.mergeAll(
      connector.layer("forever"),
      instrumentRelayStore(RelayStore.layer({ prefix, ...(fc.relay?.retain === undefined ? {} : { retain: fc.relay.retain }) }))
        .pipe(Layer.provideMerge(redisLayer))
    )
    const relaySession = Effect.gen(function*() {
      const redis = yield* Redis
      const hasCursor = (yield* redis.use((c) => c.exists(relayKeys(prefix).cursor), "EXISTS cursor")) === 1
      const depth = Option.getOrUndefined(settings.relayDepth)
      const relayOptions = {
        ...connector.follower("forever"),
        ...(depth === undefined ? {} : { depth }),
        ...(fc.relay?.format === undefined ? {} : { format: fc.relay.format }),
        ...(fc.relay?.maxLag === undefined ? {} : { maxLag: fc.relay.maxLag })
      }
      if (hasCursor || relayStart !== undefined) return yield* relay({ ...relayOptions, from: hasCursor ? "cursor" : relayStart! })
      // a fresh prefix: backfill the finalized epochs, then relay from the block after them
      return yield* syncThenRelay({
        relay: relayOptions,
        historyPrefix: settings.historyPrefix,
        epochCachePath: settings.epochCachePath,
        backfill: {
          concurrency: Math.max(1, Math.floor(availableParallelism() / 2)),
          batchSize: settings.batchSize,
          retries: 3,
          retryDelay: "10 seconds",
          maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs
        }
      }).pipe(Effect.provideService(OgmiosConnector, connector))
    }).pipe(Effect.provide(relayLayers))
    // Redis / Ogmios not reachable (yet): log, wait, start over; /health says 503 meanwhile
    const relayForever = (attempt: number): Effect.Effect<never, unknown> =>
      Effect.catch(relaySession, (error: unknown) => {
        const tag = (error as { _tag?: unknown } | null)?._tag
        if (typeof tag !== "string" || !TRANSIENT.has(tag)) return Effect.fail(error)
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))
        live.relay.connection = "down"
        live.relay.lastError = describeFailure(Cause.fail(error))
        return Effect.logWarning(`relay: ${live.relay.lastError}; starting over in ${delay} ms`).pipe(
          Effect.andThen(Effect.sleep(Duration.millis(delay))),
          Effect.andThen(Effect.suspend(() => relayForever(attempt + 1)))
        )
      })
    const relayRecorder = new RunRecorder(runs, {
      command: "relay",
      prefix,
      parameters: { via: "serve", prefix, relayStart: relayStart ?? "sync", endpoints: settings.ogmiosEndpoints }
    }, () => live.blocks)
    relayRecorder.start()
    const relayRun = relayForever(0).pipe(
      withRunLog(relayRecorder),
      Effect.annotateLogs({ component: "relay", run: relayRecorder.id }),
      Effect.onExit((exit) =>
        Effect.promise(() =>
          Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
            ? relayRecorder.finish("Cancelled")
            : relayRecorder.finish("Failed", describeFailure(exit.cause))
        )
      )
    )

    // ---- HTTP: dashboard, /health, /metrics, /api/state
    if (httpEnabled) {
      const health = makeHealthChecker({ redisUrl, endpoints: settings.ogmiosEndpoints, relayPrefix: prefix, maxDistance })
      yield* Effect.addFinalizer(() => Effect.sync(() => health.close()))
      const context = yield* Effect.context<never>()
      const server = yield* observabilityServer({
        host: Option.getOrElse(flags.httpHost, () => settings.httpHost),
        port: settings.httpPort,
        health,
        runs,
        historyPrefix: settings.historyPrefix,
        portVariable: "HECATE_HTTP_PORT",
        extraHealth: async () => {
          const refresh: RefreshSchedulerStatus | undefined = refreshEnabled ? await Effect.runPromiseWith(context)(scheduler.status) : undefined
          return { refresh: refresh ?? { enabled: false } }
        }
      })
      yield* Effect.logInfo(`serve: ${server.url} (dashboard /, GET /health, GET /metrics)`)
    }
    yield* Effect.logInfo(
      `serve: relay ${prefix} from ${settings.ogmiosEndpoints.join(", ")} (run ${relayRecorder.id}); refresh ${refreshEnabled ? `${(yield* scheduler.status).trigger}${flags.refreshCluster ? " (once per tick across instances)" : ""}` : "off"}`
    )

    // ---- the supervisor: the components run together; a fatal failure of one stops all
    // one refresh per tick across every instance (BullMQ job scheduler on the same Redis), or the
    // local Effect schedule (overlap skipped, backoff retries) of this instance alone
    const clusterRefresh = clusterSchedule(
      {
        id: "hecate-refresh",
        ...(interval === undefined ? { pattern: settings.refreshCron } : { every: Duration.toMillis(interval) }),
        connection: { url: redisUrl },
        prefix: bullPrefix(settings.queuePrefix)
      },
      () => refreshJob.pipe(Effect.retry(Schedule.exponential("10 seconds").pipe(Schedule.jittered, Schedule.upTo({ times: 4 }))))
    ).pipe(Effect.andThen(Effect.never))
    const refreshRun = !refreshEnabled ? Effect.never : flags.refreshCluster ? clusterRefresh : scheduler.run
    yield* Effect.all([relayRun, refreshRun], { concurrency: "unbounded", discard: true })
  })

const overrides = (flags: Flags) => ({
      configFile: Option.getOrUndefined(flags.config),
      ogmiosEndpoints: flags.endpoint.length > 0 ? flags.endpoint : undefined,
      relayPrefix: Option.getOrUndefined(flags.redisPrefix),
      historyPrefix: Option.getOrUndefined(flags.historyPrefix),
      httpPort: Option.getOrUndefined(flags.httpPort),
      refreshCron: Option.getOrUndefined(flags.refreshCron),
      logFormat: Option.getOrUndefined(flags.logFormat)
    })

const run = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const file = yield* HecateConfigFile
    return yield* serveWith(flags, file.config, file.path, settings)
  }).pipe(Effect.scoped)

export const serveCommand = Command.make("serve", serveFlags, (flags) =>
  run(flags).pipe(
    exitZeroOnSigterm("serve: stopped on SIGTERM (cursor persisted, connections closed)"),
    runCommand({ overrides: overrides(flags), failure: "Serve stopped" })
  )).pipe(
    Command.withDescription("The long-running service: the realtime relay into Redis, the scheduled epoch refresh, and /health + /metrics")
  )
