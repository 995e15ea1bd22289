/**
 * `hecate serve`: the long-running service (docs/serve.md). Under one supervisor (a structured
 * `Effect.all`: if a component fails fatally the others are stopped and the process exits with its
 * code; transient failures are retried inside each component):
 *
 * - the realtime relay into Redis (src/relay: exactly-once events/final with an atomic cursor;
 *   a fresh prefix starts at `--relay-start` tip|origin, afterwards always at the stored cursor);
 * - the epoch refresh on its Effect schedule (cron HECATE_REFRESH_CRON or an interval; never fails
 *   the service);
 * - HTTP on HECATE_HTTP_HOST:HECATE_HTTP_PORT: GET /health (JSON: relay + refresh status) and
 *   GET /metrics (Prometheus text, effect/observability).
 *
 * Configuration: flags > environment > hecate.config.json (--config / HECATE_CONFIG) > .env > defaults.
 * SIGTERM stops it cleanly: the relay's in-flight write (one atomic Lua call that also moves the
 * cursor) either landed or did not, connections close, and the process exits 0. SIGINT exits 130.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { resolve } from "node:path"
import { Console, Effect, Exit, Cause, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { PrometheusMetrics } from "effect/observability"
import { loggingLayer } from "../cli/logging.js"
import { reportExpectedFailures } from "../cli/report.js"
import { type ConfigFile, loadConfigFile, withConfigFile } from "../config/file.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import { OgmiosLive } from "../layers/OgmiosLive.js"
import { RedisLive } from "../layers/RedisLive.js"
import { relay } from "../relay/relay.js"
import { RelayStore } from "../relay/RelayStore.js"
import { relayKeys } from "../relay/keys.js"
import { makeScheduledRefresh, parseInterval } from "../refresh/service.js"
import type { RefreshSchedulerStatus } from "../refresh/schedule.js"
import { InvalidConfiguration, type HecateSettings } from "../services/HecateConfig.js"
import { Redis } from "../services/Redis.js"

export const serveFlags = {
  config: Flag.String("config").pipe(Flag.withDescription("Config file (default HECATE_CONFIG, else ./hecate.config.json if present)"), Flag.optional),
  endpoint: Flag.String("endpoint").pipe(Flag.withDescription("Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS)"), Flag.atLeast(0)),
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  relayStart: Flag.Literals("relay-start", ["tip", "origin"] as const).pipe(
    Flag.withDescription("Where a fresh relay prefix starts (default tip); an existing cursor always resumes"),
    Flag.optional
  ),
  httpPort: Flag.Int("http-port").pipe(Flag.withDescription("Port of /health and /metrics (default HECATE_HTTP_PORT, 9464; 0 = any free port)"), Flag.optional),
  noHttp: Flag.Boolean("no-http").pipe(Flag.withDescription("Do not serve /health and /metrics"), Flag.withDefault(false)),
  refreshCron: Flag.String("refresh-cron").pipe(Flag.withDescription("Cron of the epoch refresh, UTC (default HECATE_REFRESH_CRON, 0 0 * * *)"), Flag.optional),
  refreshInterval: Flag.String("refresh-interval").pipe(Flag.withDescription("Run the refresh at a fixed interval instead, e.g. \"6 hours\""), Flag.optional),
  noRefresh: Flag.Boolean("no-refresh").pipe(Flag.withDescription("Do not run the scheduled epoch refresh"), Flag.withDefault(false)),
  logFormat: Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional)
}

type Flags = { readonly [K in keyof typeof serveFlags]: (typeof serveFlags)[K] extends Flag.Flag<infer A> ? A : never }

interface RelayProgress {
  writes: number
  lastSeq: number | undefined
  lastHeight: number | undefined
  lastWriteAt: string | undefined
}

/** A plain node:http server for /health and /metrics, closed with the scope. */
const httpServer = (
  host: string,
  port: number,
  health: () => Promise<{ readonly status: number; readonly body: unknown }>,
  metrics: () => Promise<string>
) =>
  Effect.acquireRelease(
    Effect.callback<Server, InvalidConfiguration>((resume) => {
      const server = createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0]
        const fail = (e: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" }).end(String(e))
        }
        if (req.method === "GET" && path === "/health") {
          health().then(({ status, body }) => {
            res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
          }, fail)
        } else if (req.method === "GET" && path === "/metrics") {
          metrics().then((text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(text), fail)
        } else {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /health or /metrics\n")
        }
      })
      server.once("error", (e: NodeJS.ErrnoException) =>
        resume(Effect.fail(new InvalidConfiguration({
          variable: "HECATE_HTTP_PORT",
          message: `cannot listen on ${host}:${port} (${e.code ?? e.message}) — choose another HECATE_HTTP_PORT / --http-port, or --no-http`
        }))))
      server.listen(port, host, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

const serveWith = (flags: Flags, fc: ConfigFile, filePath: string | undefined, settings: HecateSettings) =>
  Effect.gen(function*() {
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
    const relayStart = Option.getOrUndefined(flags.relayStart) ?? "tip"
    if (filePath !== undefined) yield* Effect.logInfo(`config file ${filePath}`)

    const startedAt = Date.now()
    const context = yield* Effect.context<never>()
    const progress: RelayProgress = { writes: 0, lastSeq: undefined, lastHeight: undefined, lastWriteAt: undefined }

    // ---- refresh schedule
    const scheduler = yield* makeScheduledRefresh(settings, {
      intervalDuration: interval,
      runOnStart: fc.refresh?.runOnStart,
      commit: fc.refresh?.commit,
      dataDir: fc.refresh?.dataDir === undefined ? undefined : resolve(fc.refresh.dataDir),
      cachePath: resolve(settings.epochCachePath),
      retry: fc.refresh?.retries === undefined ? undefined : { times: fc.refresh.retries }
    })

    // ---- relay (fresh prefix: relayStart; else resume the cursor)
    const redisLayer = RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-serve" })
    const relayLayers = Layer.mergeAll(
      OgmiosLive.layer({ endpoints: settings.ogmiosEndpoints, requestTimeout: 30_000, reconnect: { maxDelay: 5_000 } }),
      RelayStore.layer({ prefix, ...(fc.relay?.retain === undefined ? {} : { retain: fc.relay.retain }) }).pipe(Layer.provideMerge(redisLayer))
    )
    const relayRun = Effect.gen(function*() {
      const redis = yield* Redis
      const hasCursor = (yield* redis.use((c) => c.exists(relayKeys(prefix).cursor), "EXISTS cursor")) === 1
      const depth = Option.getOrUndefined(settings.relayDepth)
      return yield* relay({
        endpoints: settings.ogmiosEndpoints,
        from: hasCursor ? "cursor" : relayStart,
        ...(depth === undefined ? {} : { depth }),
        ...(fc.relay?.format === undefined ? {} : { format: fc.relay.format }),
        inFlight: settings.inFlight,
        ...(fc.relay?.maxLag === undefined ? {} : { maxLag: fc.relay.maxLag }),
        onWrite: (info) => {
          progress.writes++
          progress.lastSeq = info.seq
          const applied = info.events.filter((e) => e._tag === "Apply")
          if (applied.length > 0) progress.lastHeight = applied[applied.length - 1]!.block.height
          progress.lastWriteAt = new Date().toISOString()
        }
      })
    }).pipe(Effect.provide(relayLayers), Effect.annotateLogs({ component: "relay" }))

    // ---- HTTP
    const runPromise = Effect.runPromiseWith(context)
    const health = async () => {
      const refresh: RefreshSchedulerStatus | undefined = refreshEnabled ? await runPromise(scheduler.status) : undefined
      return {
        status: 200,
        body: {
          status: "ok",
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          relay: { prefix, ...progress },
          refresh: refresh ?? { enabled: false }
        }
      }
    }
    const metrics = () => runPromise(PrometheusMetrics.format())
    if (httpEnabled) {
      const server = yield* httpServer(settings.httpHost, settings.httpPort, health, metrics)
      const address = server.address() as AddressInfo
      yield* Effect.logInfo(`serve: http://${settings.httpHost}:${address.port} (GET /health, GET /metrics)`)
    }
    yield* Effect.logInfo(
      `serve: relay ${prefix} from ${settings.ogmiosEndpoints.join(", ")}; refresh ${refreshEnabled ? (yield* scheduler.status).trigger : "off"}`
    )

    // ---- the supervisor: the components run together; a fatal failure of one stops all
    yield* Effect.all([relayRun, refreshEnabled ? scheduler.run : Effect.never], { concurrency: "unbounded", discard: true })
  })

const run = (flags: Flags) =>
  Effect.gen(function*() {
    const file = yield* loadConfigFile(Option.getOrUndefined(flags.config))
    const fc: ConfigFile = file.config
    const settings: HecateSettings = yield* withConfigFile(fc, HecateConfigLive.load({
      ogmiosEndpoints: flags.endpoint.length > 0 ? flags.endpoint : undefined,
      relayPrefix: Option.getOrUndefined(flags.redisPrefix),
      httpPort: Option.getOrUndefined(flags.httpPort),
      refreshCron: Option.getOrUndefined(flags.refreshCron),
      logFormat: Option.getOrUndefined(flags.logFormat)
    }))
    // the file's / environment's log settings apply from here on
    return yield* serveWith(flags, fc, file.path, settings).pipe(Effect.provide(loggingLayer(settings.logFormat, settings.logLevel)))
  }).pipe(
    Effect.scoped,
    reportExpectedFailures("Serve stopped")
  )

/** SIGTERM is the service manager's normal stop: after the clean shutdown, exit 0 (SIGINT keeps 130). */
const exitZeroOnSigterm = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let sigterm = false
    const onSigterm = () => {
      sigterm = true
    }
    process.once("SIGTERM", onSigterm)
    return self.pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          process.removeListener("SIGTERM", onSigterm)
          if (sigterm && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
            yield* Console.error("serve: stopped on SIGTERM (cursor persisted, connections closed)")
            process.exit(0)
          }
        })
      )
    )
  })

export const serveCommand = Command.make("serve", serveFlags, (flags) =>
  run(flags).pipe(
    exitZeroOnSigterm,
    Effect.provide(loggingLayer(Option.getOrElse(flags.logFormat, () => "pretty" as const), "Info"))
  )).pipe(
    Command.withDescription("The long-running service: the realtime relay into Redis, the scheduled epoch refresh, and /health + /metrics")
  )
