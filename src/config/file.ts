/**
 * `hecate.config.json`: one file for the settings of every command (backfill, relay, sync, worker,
 * serve …), validated by Schema (unknown keys are errors, so a typo never silently falls back to a
 * default). HecateConfigLive reads it for every command, so no command ignores it.
 *
 * Precedence (highest first): command-line flags > environment variables > this file > `.env` >
 * defaults. The file's settings that have an environment variable are fed to HecateConfigLive as
 * a ConfigProvider *under* the real environment (so they get the same validation and messages as
 * the variable, e.g. HECATE_REFRESH_CRON); the rest (refresh interval/commit, HTTP on or off, relay
 * trimming …) are read from the file by the commands that have them, and overridden by flags.
 *
 * The file is `--config <path>`, else `HECATE_CONFIG`, else `./hecate.config.json` if it exists.
 */
import { readFile } from "node:fs/promises"
import { resolve } from "node:path"
import { ConfigProvider, Context, Effect, Layer, Schema } from "effect"
import { InvalidConfiguration } from "../services/HecateConfig.js"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const opt = Schema.optionalKey

export const ConfigFile = Schema.Struct({
  ogmios: opt(Schema.Struct({
    endpoints: opt(Schema.Array(Schema.String)),
    inFlight: opt(PositiveInt),
    requestTimeoutMs: opt(PositiveInt),
    reconnectMaxDelayMs: opt(PositiveInt)
  })),
  redis: opt(Schema.Struct({ url: opt(Schema.String) })),
  /** HECATE_EPOCH_CACHE */
  epochCache: opt(Schema.String),
  /** the backfill's epoch streams, and the backfill of `sync` / `serve` */
  history: opt(Schema.Struct({
    prefix: opt(Schema.String),
    concurrency: opt(PositiveInt),
    retries: opt(NonNegativeInt),
    retryDelaySeconds: opt(NonNegativeInt)
  })),
  log: opt(Schema.Struct({
    level: opt(Schema.String),
    format: opt(Schema.Literals(["pretty", "json"]))
  })),
  http: opt(Schema.Struct({
    /** serve /health and /metrics (default true) */
    enabled: opt(Schema.Boolean),
    host: opt(Schema.String),
    port: opt(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })))
  })),
  relay: opt(Schema.Struct({
    prefix: opt(Schema.String),
    depth: opt(PositiveInt),
    format: opt(Schema.Literals(["hecate", "ogmios"])),
    maxLag: opt(NonNegativeInt),
    retain: opt(NonNegativeInt)
  })),
  refresh: opt(Schema.Struct({
    /** run the scheduled refresh (default true) */
    enabled: opt(Schema.Boolean),
    /** HECATE_REFRESH_CRON (UTC); ignored when `interval` is set */
    cron: opt(Schema.String),
    /** a fixed interval instead of the cron, e.g. "6 hours", "30 minutes" */
    interval: opt(Schema.String),
    /** also run once at start (default false) */
    runOnStart: opt(Schema.Boolean),
    /** commit the changed data files to their git repository (default false) */
    commit: opt(Schema.Boolean),
    /** folder of the mainnet CSVs (default: the package's data/) */
    dataDir: opt(Schema.String),
    /** further attempts of a failing run (default 4) */
    retries: opt(NonNegativeInt)
  }))
})
export type ConfigFile = typeof ConfigFile.Type

export const CONFIG_VARIABLE = "HECATE_CONFIG"
export const DEFAULT_CONFIG_FILE = "hecate.config.json"

const decode = Schema.decodeUnknownEffect(Schema.fromJsonString(ConfigFile), { onExcessProperty: "error" })

/** Parses and validates the text of a config file. */
export const parseConfigFile = (text: string, path: string): Effect.Effect<ConfigFile, InvalidConfiguration> =>
  decode(text).pipe(
    Effect.mapError((error) =>
      new InvalidConfiguration({
        variable: CONFIG_VARIABLE,
        message: `the config file ${path} is invalid: ${error.message.replace(/\s+/g, " ").trim()} — see docs/serve.md for its keys`
      })
    )
  )

export interface LoadedConfigFile {
  /** the file read, or undefined when there is none */
  readonly path: string | undefined
  readonly config: ConfigFile
}

/**
 * Reads `named` (`--config`, else $HECATE_CONFIG: HecateConfigLive resolves which), else
 * ./hecate.config.json when it exists.
 */
export const loadConfigFile = (named?: string): Effect.Effect<LoadedConfigFile, InvalidConfiguration> =>
  Effect.gen(function*() {
    const path = resolve(named ?? DEFAULT_CONFIG_FILE)
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) => e as NodeJS.ErrnoException
    }).pipe(
      Effect.catch((e) =>
        e.code === "ENOENT" && named === undefined
          ? Effect.succeed(undefined)
          : Effect.fail(new InvalidConfiguration({
            variable: CONFIG_VARIABLE,
            message: e.code === "ENOENT"
              ? `the config file ${path} does not exist — create it or drop --config / ${CONFIG_VARIABLE}`
              : `cannot read the config file ${path} (${e.code ?? e.message})`
          }))
      )
    )
    if (text === undefined) return { path: undefined, config: {} }
    return { path, config: yield* parseConfigFile(text, path) }
  })

/** The file's settings that have an environment variable, as variable → raw string. */
export const fileVariables = (c: ConfigFile): Record<string, string> => {
  const out: Record<string, string> = {}
  const set = (variable: string, value: string | number | undefined) => {
    if (value !== undefined) out[variable] = String(value)
  }
  if (c.ogmios?.endpoints !== undefined) set("OGMIOS_ENDPOINTS", JSON.stringify(c.ogmios.endpoints))
  set("HECATE_IN_FLIGHT", c.ogmios?.inFlight)
  set("HECATE_REQUEST_TIMEOUT_MS", c.ogmios?.requestTimeoutMs)
  set("REDIS_URL", c.redis?.url)
  set("HECATE_EPOCH_CACHE", c.epochCache)
  set("HECATE_LOG_LEVEL", c.log?.level)
  set("HECATE_LOG_FORMAT", c.log?.format)
  set("HECATE_HTTP_HOST", c.http?.host)
  set("HECATE_HTTP_PORT", c.http?.port)
  set("HECATE_REFRESH_CRON", c.refresh?.cron)
  set("HECATE_RELAY_DEPTH", c.relay?.depth)
  set("HECATE_RELAY_PREFIX", c.relay?.prefix)
  set("HECATE_RECONNECT_MAX_DELAY_MS", c.ogmios?.reconnectMaxDelayMs)
  set("HECATE_HISTORY_PREFIX", c.history?.prefix)
  set("HECATE_BACKFILL_CONCURRENCY", c.history?.concurrency)
  set("HECATE_EPOCH_RETRIES", c.history?.retries)
  set("HECATE_EPOCH_RETRY_DELAY_S", c.history?.retryDelaySeconds)
  return out
}

/**
 * Runs `effect` (typically HecateConfigLive.load) with the file's variables under the ambient
 * environment: a variable set in the environment wins over the file.
 */
export const withConfigFile = <A, E, R>(file: ConfigFile, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const env = yield* ConfigProvider.ConfigProvider
    const provider = ConfigProvider.orElse(env, ConfigProvider.fromUnknown(fileVariables(file)))
    return yield* Effect.provideService(effect, ConfigProvider.ConfigProvider, provider)
  })

/**
 * The config file of the run, as its composition root read it with the settings: the keys that
 * have no environment variable (relay trimming, refresh interval …) are read from here by the
 * commands that have them.
 */
export class HecateConfigFile extends Context.Service<HecateConfigFile, LoadedConfigFile>()("hecate/HecateConfigFile") {
  /** No config file (every file-only key at its default). */
  static readonly layerNone: Layer.Layer<HecateConfigFile> = Layer.succeed(HecateConfigFile, { path: undefined, config: {} })
}
