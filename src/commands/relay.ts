/**
 * `hecate relay`: follows the chain through the reorg operator into a sink. With the redis sink
 * (the default) it is the exactly-once relay of docs/relay.md: `events` (apply/undo), `final`, an
 * atomic cursor, restart with re-intersection, backpressure, and reconnects that never give up.
 * The cli and jsonl sinks print the same events (not resumable: they start at --from every time;
 * src/sinks/print-relay.ts). Which path a sink takes is its capabilities (src/sinks/capabilities.ts).
 * The command is its flags, the settings they override and one program.
 */
import { type Duration, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { HecateConfigFile } from "../config/file.js"
import { configFlag, endpointFlag, intFlag, logFormatFlag, sharedOverrides } from "../config/flags.js"
import { DEFAULT_MAX_LAG, DEFAULT_RETAIN, type RangedFlag } from "../config/settings.js"
import { runCommand } from "../cli/command.js"
import { isOutputClosed, stopNotice } from "../cli/process.js"
import { parsePoint } from "../domain/point.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { RedisLive } from "../layers/RedisLive.js"
import { instrumentRelayStore, observabilityFlags, observeRun, runParameters, Telemetry } from "../observability/index.js"
import { relay, type RelayFrom } from "../relay/relay.js"
import { ogmiosRelaySource } from "../relay/source.js"
import { RelayStore } from "../relay/RelayStore.js"
import { makeScheduledRefresh, refreshIntervalChoice } from "../refresh/service.js"
import { HecateConfig, type HecateConfigOverrides, InvalidConfiguration } from "../services/HecateConfig.js"
import { Ogmios } from "../services/Ogmios.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { printsEvents, RELAY_SINK_CAPABILITIES, RELAY_SINK_KINDS, type RelaySinkKind } from "../sinks/capabilities.js"
import { printRelay } from "../sinks/print-relay.js"

const optionalInt = (name: RangedFlag, description: string) => intFlag(name).pipe(Flag.withDescription(description), Flag.optional)


export const relayFlags = {
  from: Flag.String("from").pipe(
    Flag.withDescription("Start: cursor (resume, else tip), tip, origin or slot.hash; events begin after it"),
    Flag.withDefault("cursor")
  ),
  depth: optionalInt("depth", "Blocks on top of a block before it is final (default HECATE_RELAY_DEPTH, else the network's k)"),
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  sink: Flag.Literals("sink", RELAY_SINK_KINDS).pipe(Flag.withDescription("Where events go"), Flag.withDefault<RelaySinkKind>("redis")),
  format: Flag.Literals("format", WIRE_FORMATS).pipe(
    Flag.withDescription("Block format: hecate (prepare_block) or ogmios (untouched); default: the cursor's, else hecate"),
    Flag.optional
  ),
  endpoint: endpointFlag("Ogmios endpoint ws://host:port (repeatable, failover in rotation; default OGMIOS_ENDPOINTS)"),
  inFlight: optionalInt("in-flight", "nextBlock requests in flight (default HECATE_IN_FLIGHT, 100)"),
  maxLag: intFlag("max-lag").pipe(
    Flag.withDescription("Pause while a consumer group of events/final lags more entries than this (0 = off; default relay.maxLag of the config file, else 10000)"),
    Flag.optional
  ),
  maxLength: intFlag("max-length").pipe(Flag.withDescription("Pause while XLEN events exceeds this (0 = off)"), Flag.withDefault(0)),
  retain: intFlag("retain").pipe(
    Flag.withDescription("Writes kept in events/final beyond the volatile window and unread group entries (0 = never trim; default relay.retain of the config file, else 100000)"),
    Flag.optional
  ),
  config: configFlag,
  logFormat: logFormatFlag,
  noRefresh: Flag.Boolean("no-refresh").pipe(Flag.withDescription("Do not run the scheduled epoch refresh alongside the relay"), Flag.withDefault(false)),
  refreshInterval: Flag.String("refresh-interval").pipe(
    Flag.withDescription("Run the epoch refresh at a fixed interval (e.g. \"6 hours\") instead of HECATE_REFRESH_CRON"),
    Flag.optional
  ),
  ...observabilityFlags
}

type Flags = { readonly [K in keyof typeof relayFlags]: (typeof relayFlags)[K] extends Flag.Flag<infer A> ? A : never }

export const parseFrom = (text: string): Effect.Effect<RelayFrom, InvalidConfiguration> => {
  if (text === "cursor" || text === "tip" || text === "origin") return Effect.succeed(text)
  const point = parsePoint(text)
  return point === undefined || point === "origin"
    ? Effect.fail(new InvalidConfiguration({ variable: "--from", message: `--from must be cursor, tip, origin or slot.hash (64 hex digits), got ${text}` }))
    : Effect.succeed(point)
}

/** The flags relay and sync share that override settings. */
export const relayOverrides = (
  flags: {
    readonly config: Option.Option<string>
    readonly endpoint: ReadonlyArray<string>
    readonly inFlight: Option.Option<number>
    readonly logFormat: Option.Option<"pretty" | "json">
    readonly depth: Option.Option<number>
  },
  extra: HecateConfigOverrides = {}
): HecateConfigOverrides => ({
  ...extra,
  ...sharedOverrides(flags),
  inFlight: Option.getOrUndefined(flags.inFlight),
  relayDepth: Option.isSome(flags.depth) ? flags.depth : undefined
})

/** How the relay's depth is set, named in its messages. */
export const DEPTH_SETTING = "--depth, HECATE_RELAY_DEPTH or relay.depth in the config file"

/** The epoch refresh on its Effect schedule, for the relay's lifetime (a failed run never stops the relay). */
const scheduledRefresh = (interval: Duration.Duration | undefined) =>
  Effect.gen(function*() {
    const scheduler = yield* makeScheduledRefresh(yield* HecateConfig, { intervalDuration: interval })
    yield* Effect.forkScoped(scheduler.run)
    yield* Effect.logInfo(`epoch refresh on schedule: ${(yield* scheduler.status).trigger}`)
  })

const program = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const { config: file, path: configPath } = yield* HecateConfigFile
    const connector = yield* OgmiosConnector
    const from = yield* parseFrom(flags.from)
    const format = Option.orElse(flags.format, () => Option.fromUndefinedOr(file.relay?.format))
    const queries = connector.layer("forever")
    const configuredDepth = Option.getOrUndefined(settings.relayDepth)
    if (printsEvents(flags.sink)) {
      const depth = configuredDepth ?? (yield* Effect.flatMap(Ogmios, (o) => o.queryNetworkGenesisConfiguration("shelley")).pipe(
        Effect.provide(queries)
      )).securityParameter
      return yield* printRelay({ sink: flags.sink, from, depth, format: Option.getOrElse(format, () => "hecate" as const) }).pipe(Effect.provide(queries))
    }
    const prefix = Option.getOrElse(flags.redisPrefix, () => settings.relayPrefix)
    // as serve does: --refresh-interval, else the config file's refresh.interval, else the cron
    const interval = yield* refreshIntervalChoice(Option.getOrUndefined(flags.refreshInterval), { path: configPath, interval: file.refresh?.interval })
    if (!flags.noRefresh && (file.refresh?.enabled ?? true)) yield* scheduledRefresh(interval?.every)
    const retain = Option.getOrElse(flags.retain, () => file.relay?.retain ?? DEFAULT_RETAIN)
    const layers = Layer.mergeAll(
      queries,
      instrumentRelayStore(RelayStore.layer({ prefix, retain })).pipe(Layer.provide(RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-relay" })))
    )
    const connection = connector.follower("forever")
    return yield* relay({
      ...connection,
      source: ogmiosRelaySource(connection),
      from,
      depthSetting: DEPTH_SETTING,
      ...(configuredDepth === undefined ? {} : { depth: configuredDepth }),
      ...(Option.isSome(format) ? { format: format.value } : {}),
      maxLag: Option.getOrElse(flags.maxLag, () => file.relay?.maxLag ?? DEFAULT_MAX_LAG),
      maxLength: flags.maxLength
    }).pipe(
      Effect.provide(layers),
      observeRun({ command: "relay", parameters: runParameters(flags), http: { port: flags.httpPort, host: flags.httpHost }, endpoints: connector.endpoints, relayPrefix: prefix, writes: "relay" }),
      Effect.provide(Telemetry.layer)
    )
  })

/** What Ctrl-C prints: a rerun resumes only a sink that keeps a cursor. */
const interruptedNotice = (sink: RelaySinkKind): string =>
  RELAY_SINK_CAPABILITIES[sink].resumable ? "Interrupted. Rerun to resume from the cursor." : "Interrupted."

const run = (flags: Flags) =>
  program(flags).pipe(
    Effect.scoped,
    // a closed pipe (`| head`) ends quietly
    Effect.onInterrupt(() => isOutputClosed() ? Effect.void : stopNotice(interruptedNotice(flags.sink))),
    runCommand({ overrides: relayOverrides(flags), failure: "Relay stopped" })
  )

export const relayCommand = Command.make("relay", relayFlags, run).pipe(
  Command.withDescription("Follow the chain into Redis: apply/undo events and final blocks, exactly once, with an atomic cursor")
)
