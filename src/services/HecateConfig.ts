/**
 * Every Hecate setting, resolved once at startup: CLI flags > environment > `.env` file > defaults.
 * The live implementation (env / .env / flags) is `src/layers/HecateConfigLive.ts`; the variables
 * are listed in docs/configuration.md.
 *
 * `redisUrl` may carry a password: it is `Redacted`, and the settings object prints (String,
 * JSON, util.inspect, Effect logs) with the password replaced by `***`.
 */
import { Context, Duration, Layer, type LogLevel, Option, Redacted, Schema } from "effect"

export type LogFormat = "pretty" | "json"

export interface HecateSettings {
  /** `OGMIOS_ENDPOINTS`: ws:// or wss:// URLs, rotated round-robin; never empty */
  readonly ogmiosEndpoints: ReadonlyArray<string>
  /** `REDIS_URL` (redis:// or rediss://; may carry a password) */
  readonly redisUrl: Redacted.Redacted<string>
  /** `BATCH_SIZE`: blocks per sink batch (>= 1) */
  readonly batchSize: number
  /** `REDIS_MAX_UNCONSUMED_EPOCHS`: backpressure threshold (>= 1) */
  readonly redisMaxUnconsumedEpochs: number
  /** `HECATE_EPOCH_CACHE`: path of the derived-epoch cache */
  readonly epochCachePath: string
  /** the `.env` file that was read (`HECATE_ENV_FILE` or ./.env), if any */
  readonly envFile: Option.Option<string>
  /** the config file that was read (`--config`, `HECATE_CONFIG` or ./hecate.config.json), if any */
  readonly configFile: Option.Option<string>
  /** `HECATE_IN_FLIGHT`: outstanding nextBlock requests per chain-sync session (>= 1) */
  readonly inFlight: number
  /** `HECATE_REQUEST_TIMEOUT_MS` */
  readonly requestTimeout: Duration.Duration
  /** `HECATE_RECONNECT_MAX_DELAY_MS`: cap of the reconnect backoff */
  readonly reconnectMaxDelay: Duration.Duration
  /** `HECATE_LOG_LEVEL` */
  readonly logLevel: LogLevel.LogLevel
  /** `HECATE_LOG_FORMAT` */
  readonly logFormat: LogFormat
  /** `HECATE_HTTP_HOST`: bind address of /health and /metrics */
  readonly httpHost: string
  /** `HECATE_HTTP_PORT` (0 = pick a free port) */
  readonly httpPort: number
  /** `HECATE_REFRESH_CRON`: a valid cron expression (UTC) */
  readonly refreshCron: string
  /** `HECATE_RELAY_DEPTH`: relay confirmation depth; none = the network's security parameter k */
  readonly relayDepth: Option.Option<number>
  /** `HECATE_RELAY_PREFIX` */
  readonly relayPrefix: string
  /** `HECATE_HISTORY_PREFIX` */
  readonly historyPrefix: string
  /** `HECATE_RUNS_PREFIX`: key prefix of the run history */
  readonly runsPrefix: string
  /** `HECATE_RUNS_KEEP`: runs kept in the history (the oldest are dropped) */
  readonly runsKeep: number
  /** `HECATE_PROGRESS_INTERVAL_MS`: period of the backfill's progress log lines off a terminal */
  readonly progressIntervalMs: number
  /** `HECATE_LOCK_TTL_MS`: the backfill producer lock's TTL; none = the backfill's default */
  readonly lockTtl: Option.Option<number>
  /** `HECATE_HEALTH_MAX_DISTANCE`: blocks behind the tip /health still answers 200 */
  readonly healthMaxDistance: number
  /** `HECATE_BACKFILL_CONCURRENCY`: epochs the backfill of `sync` / `serve` syncs at once; none = half the CPUs */
  readonly backfillConcurrency: Option.Option<number>
  /** `HECATE_EPOCH_RETRIES`: further attempts of a failing epoch in the backfill of `sync` / `serve` */
  readonly epochRetries: number
  /** `HECATE_EPOCH_RETRY_DELAY_S`: seconds between those attempts */
  readonly epochRetryDelaySeconds: number
  /** `HECATE_QUEUE_PREFIX`: BullMQ key prefix of the distributed backfill's and the cluster refresh's queues */
  readonly queuePrefix: string
  /** `HECATE_WORKER_LOCK_MS`: a distributed epoch job's lock TTL */
  readonly workerLockMs: number
  /** `HECATE_WORKER_STALLED_MS`: how often workers look for stalled jobs */
  readonly workerStalledMs: number
  /** `HECATE_WORKER_MAX_STALLED`: stalls an epoch job survives before it fails */
  readonly workerMaxStalled: number
  /** `HECATE_DISTRIBUTED_POLL_MS`: how often the coordinator reads job states (0 = its default) */
  readonly distributedPollMs: number
}

/** Values from CLI flags; `undefined` means "not given" (the env / .env / default applies). */
export type HecateConfigOverrides =
  & { readonly [K in Exclude<keyof HecateSettings, "envFile" | "configFile">]?: HecateSettings[K] | undefined }
  & {
    /** read this `.env` file instead of `HECATE_ENV_FILE` / ./.env */
    readonly envFile?: string | undefined
    /** read this config file (`--config`) instead of `HECATE_CONFIG` / ./hecate.config.json */
    readonly configFile?: string | undefined
  }

/** A setting is invalid; `message` names the variable, what was wrong and what to do. */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  /** the environment variable (or, for a flag override, the variable it overrides) */
  variable: Schema.String,
  message: Schema.String
}) {
  readonly exitCode = 2
}

export const DEFAULT_OGMIOS_ENDPOINTS: ReadonlyArray<string> = ["ws://127.0.0.1:1337"]
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

export { redactUrl } from "../domain/redacted-url.js"
import { redactCredentials, redactUrl } from "../domain/redacted-url.js"

/** A log-safe plain view of the settings (the Redis password and Ogmios credentials replaced by `***`). */
export const describe = (s: HecateSettings): Record<string, unknown> => ({
  ogmiosEndpoints: s.ogmiosEndpoints.map(redactCredentials),
  redisUrl: redactUrl(Redacted.value(s.redisUrl)),
  batchSize: s.batchSize,
  redisMaxUnconsumedEpochs: s.redisMaxUnconsumedEpochs,
  epochCachePath: s.epochCachePath,
  envFile: Option.getOrNull(s.envFile),
  configFile: Option.getOrNull(s.configFile),
  inFlight: s.inFlight,
  requestTimeoutMs: Duration.toMillis(s.requestTimeout),
  reconnectMaxDelayMs: Duration.toMillis(s.reconnectMaxDelay),
  logLevel: s.logLevel,
  logFormat: s.logFormat,
  httpHost: s.httpHost,
  httpPort: s.httpPort,
  refreshCron: s.refreshCron,
  relayDepth: Option.getOrNull(s.relayDepth),
  relayPrefix: s.relayPrefix,
  historyPrefix: s.historyPrefix,
  runsPrefix: s.runsPrefix,
  runsKeep: s.runsKeep,
  progressIntervalMs: s.progressIntervalMs,
  lockTtlMs: Option.getOrNull(s.lockTtl),
  healthMaxDistance: s.healthMaxDistance,
  backfillConcurrency: Option.getOrNull(s.backfillConcurrency),
  epochRetries: s.epochRetries,
  epochRetryDelaySeconds: s.epochRetryDelaySeconds,
  queuePrefix: s.queuePrefix,
  workerLockMs: s.workerLockMs,
  workerStalledMs: s.workerStalledMs,
  workerMaxStalled: s.workerMaxStalled,
  distributedPollMs: s.distributedPollMs
})

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom")

/**
 * Wraps settings in an object that prints safely: `String()`, `JSON.stringify`, `util.inspect`
 * and Effect's log formatting all show `describe(settings)`.
 */
export const makeSettings = (s: HecateSettings): HecateSettings => {
  const safe = { ...s }
  Object.defineProperties(safe, {
    toJSON: { value: () => describe(s), enumerable: false },
    toString: { value: () => `HecateConfig ${JSON.stringify(describe(s))}`, enumerable: false },
    [inspectSymbol]: { value: () => describe(s), enumerable: false }
  })
  return Object.freeze(safe)
}

/** The defaults of every setting (no env, no file, no flags). */
export const defaults: HecateSettings = makeSettings({
  ogmiosEndpoints: DEFAULT_OGMIOS_ENDPOINTS,
  redisUrl: Redacted.make(DEFAULT_REDIS_URL, { label: "REDIS_URL" }),
  batchSize: 500,
  redisMaxUnconsumedEpochs: 5,
  epochCachePath: "data/epoch_cache.json",
  envFile: Option.none(),
  configFile: Option.none(),
  inFlight: 100,
  requestTimeout: Duration.millis(30_000),
  reconnectMaxDelay: Duration.millis(5_000),
  logLevel: "Info",
  logFormat: "pretty",
  httpHost: "127.0.0.1",
  httpPort: 9464,
  refreshCron: "0 0 * * *",
  relayDepth: Option.none(),
  relayPrefix: "hecate:relay:",
  historyPrefix: "hecate:history:",
  runsPrefix: "hecate:runs:",
  runsKeep: 200,
  progressIntervalMs: 10_000,
  lockTtl: Option.none(),
  healthMaxDistance: 5,
  backfillConcurrency: Option.none(),
  epochRetries: 3,
  epochRetryDelaySeconds: 10,
  queuePrefix: "bull",
  workerLockMs: 30_000,
  workerStalledMs: 30_000,
  workerMaxStalled: 5,
  distributedPollMs: 0
})

export class HecateConfig extends Context.Service<HecateConfig, HecateSettings>()("hecate/HecateConfig") {
  /** For tests of other modules: the defaults with some settings replaced (not validated). */
  static readonly layerTest = (settings: Partial<HecateSettings> = {}): Layer.Layer<HecateConfig> =>
    Layer.succeed(HecateConfig, makeSettings({ ...defaults, ...settings }))
}
