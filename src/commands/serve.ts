/**
 * `hecate serve`: the long-running service (docs/serve.md). Flags become config overrides and
 * serve's choices; the program is src/serve, a supervisor of these components, each with its
 * declared restart policy (src/serve/components.ts):
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
 * - The relay component starts over while Redis or Ogmios is unreachable (at start too); anything
 *   else stops serve with its exit code. Every relay and refresh run is recorded in the run history
 *   (`hecate runs`).
 *
 * Configuration: flags > environment > hecate.config.json (--config / HECATE_CONFIG) > .env > defaults.
 * SIGTERM stops it cleanly: the relay's in-flight write (one atomic Lua call that also moves the
 * cursor) either landed or did not, connections close, and the process exits 0. SIGINT exits 130.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { runCommand } from "../cli/command.js"
import { HecateConfigFile } from "../config/file.js"
import { historyPrefixFlag, intFlag, sharedOverrides } from "../config/flags.js"
import { exitZeroOnSigterm } from "../cli/process.js"
import { Telemetry } from "../observability/Telemetry.js"
import { serveOptions } from "../serve/options.js"
import { serve } from "../serve/serve.js"
import { HecateConfig } from "../services/HecateConfig.js"

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

// flags -> config overrides -> the serve program (src/serve)
const overrides = (flags: Flags) => ({
  ...sharedOverrides(flags),
  relayPrefix: Option.getOrUndefined(flags.redisPrefix),
  historyPrefix: Option.getOrUndefined(flags.historyPrefix),
  httpPort: Option.getOrUndefined(flags.httpPort),
  httpHost: Option.getOrUndefined(flags.httpHost),
  healthMaxDistance: Option.getOrUndefined(flags.healthMaxDistance),
  refreshCron: Option.getOrUndefined(flags.refreshCron)
})

const program = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const file = yield* HecateConfigFile
    if (file.path !== undefined) yield* Effect.logInfo(`config file ${file.path}`)
    const options = yield* serveOptions(settings, file.config, {
      relayStart: Option.getOrUndefined(flags.relayStart),
      noHttp: flags.noHttp,
      noRefresh: flags.noRefresh,
      refreshInterval: Option.getOrUndefined(flags.refreshInterval),
      refreshCluster: flags.refreshCluster
    }, file.path)
    return yield* serve(options).pipe(Effect.provide(Telemetry.layer))
  }).pipe(Effect.scoped)

export const serveCommand = Command.make("serve", serveFlags, (flags) =>
  program(flags).pipe(
    exitZeroOnSigterm("serve: stopped on SIGTERM (cursor persisted, connections closed)"),
    runCommand({ overrides: overrides(flags), failure: "Serve stopped" })
  )).pipe(
    Command.withDescription("The long-running service: the realtime relay into Redis, the scheduled epoch refresh, and /health + /metrics")
  )
