/**
 * The table of Hecate's settings: for each one its variable, how a raw string is parsed and what a
 * valid value is. Pure functions; `src/layers/HecateConfigLive.ts` feeds them env / .env / flags.
 * Every failure message names the variable, says what was wrong and shows an example.
 */
import { Cron, Duration, type LogLevel, Option, Redacted, Result, Schema } from "effect"
import { redactCredentials } from "../domain/redacted-url.js"
import { type HecateSettings, type LogFormat, redactUrl } from "../services/HecateConfig.js"

/** A check or parse result: the value, or the text of the problem (without the variable name). */
type Check<A> = Result.Result<A, string>

export interface Setting<K extends keyof HecateSettings> {
  readonly key: K
  readonly variable: string
  /** raw env string → value */
  readonly parse: (raw: string) => Check<HecateSettings[K]>
  /** semantic check of an already-typed value (flag overrides go through this only) */
  readonly check: (value: HecateSettings[K]) => Check<HecateSettings[K]>
  /** the command-line flag that overrides it, when there is one flag for it: a bad flag value names both */
  readonly flag?: string
}

/** The settings that come from one environment variable each (all but the files read). */
export type SettingKey = Exclude<keyof HecateSettings, "envFile" | "configFile">
export type AnySetting = { readonly [K in SettingKey]: Setting<K> }[SettingKey]

const ok = Result.succeed
const bad = (problem: string): Check<never> => Result.fail(problem)

const show = (raw: string): string => JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw)

// ------------------------------------------------------------------------------------ numbers ---

const integer = (example: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const check = (n: number): Check<number> =>
    Number.isSafeInteger(n) && n >= min && n <= max
      ? ok(n)
      : bad(`must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${n} — e.g. ${example}`)
  const parse = (raw: string): Check<number> => {
    const trimmed = raw.trim()
    if (!/^[+-]?\d+$/.test(trimmed)) {
      return bad(`must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${show(raw)} — e.g. ${example}`)
    }
    return check(Number(trimmed))
  }
  return { parse, check }
}

const int = <K extends keyof HecateSettings>(
  key: K,
  variable: string,
  example: string,
  min: number,
  max?: number
): Setting<K> => {
  const i = integer(`${variable}=${example}`, min, max)
  return { key, variable, parse: i.parse, check: i.check } as unknown as Setting<K>
}

const millis = <K extends "requestTimeout" | "reconnectMaxDelay">(key: K, variable: string, example: string): Setting<K> => {
  const i = integer(`${variable}=${example}`, 1)
  return {
    key,
    variable,
    parse: (raw) => Result.map(i.parse(raw), (n) => Duration.millis(n)),
    check: (d) =>
      Duration.isFinite(d) && Duration.toMillis(d) >= 1
        ? ok(d)
        : bad(`must be a finite duration of at least 1 ms, got ${Duration.format(d)} — e.g. ${variable}=${example}`)
  } as Setting<K>
}

// ------------------------------------------------------------------------------------ strings ---

const nonEmpty = <K extends "epochCachePath" | "httpHost" | "relayPrefix" | "historyPrefix" | "runsPrefix" | "queuePrefix">(
  key: K,
  variable: string,
  example: string
): Setting<K> => {
  const check = (s: string): Check<string> =>
    s.trim() === "" || /\s/.test(s)
      ? bad(`must be a non-empty value without spaces, got ${show(s)} — e.g. ${variable}=${example}`)
      : ok(s)
  return { key, variable, parse: check, check } as Setting<K>
}

// ------------------------------------------------------------------------------------- others ---

const EndpointsJson = Schema.fromJsonString(Schema.Array(Schema.String))
const decodeEndpoints = Schema.decodeUnknownResult(EndpointsJson)
const endpointsExample = `OGMIOS_ENDPOINTS='["ws://localhost:1337"]'`

const checkEndpoints = (urls: ReadonlyArray<string>): Check<ReadonlyArray<string>> => {
  if (urls.length === 0) return bad(`must list at least one endpoint, got [] — e.g. ${endpointsExample}`)
  for (const url of urls) {
    let protocol: string | undefined
    try {
      protocol = new URL(url).protocol
    } catch {
      protocol = undefined
    }
    if (protocol !== "ws:" && protocol !== "wss:") {
      return bad(`must contain only ws:// or wss:// URLs, got ${show(redactCredentials(url))} — e.g. ${endpointsExample}`)
    }
  }
  return ok(urls)
}

const ogmiosEndpoints: Setting<"ogmiosEndpoints"> = {
  key: "ogmiosEndpoints",
  variable: "OGMIOS_ENDPOINTS",
  parse: (raw) => {
    const decoded = decodeEndpoints(raw)
    return Result.isFailure(decoded)
      ? bad(`must be a JSON array of ws:// URLs, got ${show(redactCredentials(raw))} — e.g. ${endpointsExample}`)
      : checkEndpoints(decoded.success)
  },
  check: checkEndpoints
}

// no password in it: every message passes through redactCredentials, which would print one as ***
const redisExample = "REDIS_URL=redis://127.0.0.1:6379/0"
const checkRedis = (url: Redacted.Redacted<string>): Check<Redacted.Redacted<string>> => {
  const raw = Redacted.value(url)
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    // never echo the value: it may hold a password
    return bad(`must be a redis:// or rediss:// URL, got a value that is not a URL — e.g. ${redisExample}`)
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return bad(`must be a redis:// or rediss:// URL, got ${show(redactUrl(raw))} — e.g. ${redisExample}`)
  }
  // the path is the database number; ioredis would otherwise send SELECT NaN, or stay on db 0
  // when the server refuses the SELECT (RedisLive checks the number exists on connect)
  const db = parsed.pathname.replace(/^\//, "")
  if (db !== "" && !(/^\d+$/.test(db) && Number(db) <= 2 ** 31 - 1)) {
    return bad(`must end in a database number (/0, /1 …) or nothing, got ${show(redactUrl(raw))} — e.g. ${redisExample}`)
  }
  return ok(url)
}

const redisUrl: Setting<"redisUrl"> = {
  key: "redisUrl",
  variable: "REDIS_URL",
  parse: (raw) => checkRedis(Redacted.make(raw.trim(), { label: "REDIS_URL" })),
  check: checkRedis
}

const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  critical: "Fatal",
  none: "None",
  off: "None"
}
const logLevel: Setting<"logLevel"> = {
  key: "logLevel",
  variable: "HECATE_LOG_LEVEL",
  parse: (raw) => {
    const level = LOG_LEVELS[raw.trim().toLowerCase()]
    return level !== undefined
      ? ok(level)
      : bad(`must be one of ${Object.keys(LOG_LEVELS).join(", ")} (any case), got ${show(raw)} — e.g. HECATE_LOG_LEVEL=debug`)
  },
  check: ok
}

const logFormat: Setting<"logFormat"> = {
  key: "logFormat",
  variable: "HECATE_LOG_FORMAT",
  parse: (raw) => {
    const f = raw.trim().toLowerCase()
    return f === "pretty" || f === "json"
      ? ok(f satisfies LogFormat)
      : bad(`must be pretty or json, got ${show(raw)} — e.g. HECATE_LOG_FORMAT=json`)
  },
  check: (f) => f === "pretty" || f === "json" ? ok(f) : bad(`must be pretty or json, got ${show(String(f))}`)
}

const checkCron = (expr: string): Check<string> => {
  const parsed = Cron.parse(expr.trim(), "UTC")
  return Result.isSuccess(parsed)
    ? ok(expr.trim())
    : bad(`must be a cron expression (minute hour day month weekday, UTC), got ${show(expr)}: ${parsed.failure.message} — e.g. HECATE_REFRESH_CRON="0 0 * * *"`)
}
const refreshCron: Setting<"refreshCron"> = {
  key: "refreshCron",
  variable: "HECATE_REFRESH_CRON",
  parse: checkCron,
  check: checkCron
}

const depth = integer("HECATE_RELAY_DEPTH=2160", 1)
const relayDepth: Setting<"relayDepth"> = {
  key: "relayDepth",
  variable: "HECATE_RELAY_DEPTH",
  parse: (raw) => Result.map(depth.parse(raw), Option.some),
  check: (d) => Option.isNone(d) ? ok(d) : Result.map(depth.check(d.value), Option.some)
}

const runsPrefix = nonEmpty("runsPrefix", "HECATE_RUNS_PREFIX", "hecate:runs:")
const queuePrefix = nonEmpty("queuePrefix", "HECATE_QUEUE_PREFIX", "bull")

/** An integer setting that may be unset (none: the program chooses, e.g. half the CPUs). */
const optionalInt = <K extends "backfillConcurrency" | "lockTtl">(key: K, variable: string, example: string, min: number, max: number): Setting<K> => {
  const i = integer(`${variable}=${example}`, min, max)
  return {
    key,
    variable,
    parse: (raw) => Result.map(i.parse(raw), Option.some),
    check: (d) => Option.isNone(d) ? ok(d) : Result.map(i.check(d.value), Option.some)
  } as Setting<K>
}

/**
 * The most epochs synced at once by one process. Each epoch in flight holds its blocks and an
 * Ogmios session; past a few dozen the process only grows (a billion grew to 3 GB and made no
 * progress). More throughput comes from `backfill --distributed` and more workers.
 */
export const MAX_CONCURRENCY = 64

/** Every setting read from the environment, in the order they are validated. */
export const settings = [
  ogmiosEndpoints,
  redisUrl,
  int("batchSize", "BATCH_SIZE", "500", 1),
  int("redisMaxUnconsumedEpochs", "REDIS_MAX_UNCONSUMED_EPOCHS", "5", 1),
  nonEmpty("epochCachePath", "HECATE_EPOCH_CACHE", "data/epoch_cache.json"),
  int("inFlight", "HECATE_IN_FLIGHT", "100", 1),
  millis("requestTimeout", "HECATE_REQUEST_TIMEOUT_MS", "30000"),
  millis("reconnectMaxDelay", "HECATE_RECONNECT_MAX_DELAY_MS", "5000"),
  logLevel,
  logFormat,
  { ...nonEmpty("httpHost", "HECATE_HTTP_HOST", "0.0.0.0"), flag: "--http-host" },
  int("httpPort", "HECATE_HTTP_PORT", "9464", 0, 65535),
  refreshCron,
  relayDepth,
  nonEmpty("relayPrefix", "HECATE_RELAY_PREFIX", "hecate:relay:"),
  nonEmpty("historyPrefix", "HECATE_HISTORY_PREFIX", "hecate:history:"),
  runsPrefix,
  int("runsKeep", "HECATE_RUNS_KEEP", "200", 1, 1_000_000),
  int("progressIntervalMs", "HECATE_PROGRESS_INTERVAL_MS", "10000", 100, 86_400_000),
  optionalInt("lockTtl", "HECATE_LOCK_TTL_MS", "10000", 300, 3_600_000),
  int("healthMaxDistance", "HECATE_HEALTH_MAX_DISTANCE", "5", 0, 1_000_000),
  // the backfill of sync / serve; the same ranges as --concurrency / --retries / --retry-delay
  { ...optionalInt("backfillConcurrency", "HECATE_BACKFILL_CONCURRENCY", "4", 1, MAX_CONCURRENCY), flag: "--concurrency" },
  { ...int("epochRetries", "HECATE_EPOCH_RETRIES", "3", 0, 1_000), flag: "--retries" },
  { ...int("epochRetryDelaySeconds", "HECATE_EPOCH_RETRY_DELAY_S", "10", 0, 86_400), flag: "--retry-delay" },
  queuePrefix,
  int("workerLockMs", "HECATE_WORKER_LOCK_MS", "30000", 500, 3_600_000),
  int("workerStalledMs", "HECATE_WORKER_STALLED_MS", "30000", 200, 3_600_000),
  int("workerMaxStalled", "HECATE_WORKER_MAX_STALLED", "5", 0, 1_000),
  int("distributedPollMs", "HECATE_DISTRIBUTED_POLL_MS", "1000", 0, 600_000)
] as const satisfies ReadonlyArray<AnySetting>

/**
 * The message of a bad value: the variable's name, or for a value given by the setting's flag the
 * flag and the variable it overrides, with the example written as the flag.
 */
export const settingProblem = (setting: Pick<Setting<SettingKey>, "variable" | "flag">, problem: string, fromFlag: boolean): string => {
  if (!fromFlag) return `${setting.variable} ${problem}`
  if (setting.flag === undefined) return `${setting.variable} (set by a command-line flag) ${problem}`
  return `${setting.flag} (overrides ${setting.variable}) ${problem.split(`e.g. ${setting.variable}=`).join(`e.g. ${setting.flag} `)}`
}

/** The setting of `key` in the table. */
export const settingOf = <K extends SettingKey>(key: K): Setting<K> => settings.find((s) => s.key === key) as unknown as Setting<K>

// ---------------------------------------------------------------------------- command-line flags ---

/** A numeric flag: its range, and an example shown when a value is out of it. */
export interface FlagRange {
  readonly min: number
  readonly max: number
  /** integers only (all but `--fork-rate`) */
  readonly integer: boolean
  readonly example: string
}

const flagInt = (min: number, max: number, example: string): FlagRange => ({ min, max, integer: true, example })

/** Epochs synced at once when `--concurrency` is not given: half the CPUs, at least 1. */
export const defaultConcurrency = (cpus: number): number => Math.max(1, Math.floor(cpus / 2))

/** The relay's backpressure (`--max-lag`, `relay.maxLag`) when neither a flag nor the config file sets it. */
export const DEFAULT_MAX_LAG = 10_000
/** The relay's trimming (`--retain`, `relay.retain`) when neither a flag nor the config file sets it. */
export const DEFAULT_RETAIN = 100_000

/** Every numeric flag of every command, by flag name (one range per name, whichever command has it). */
export const flagRanges = {
  "start-epoch": flagInt(0, 1_000_000, "--start-epoch 208"),
  "end-epoch": flagInt(0, 1_000_000, "--end-epoch 300"),
  "until-epoch": flagInt(0, 1_000_000, "--until-epoch 500"),
  concurrency: flagInt(1, MAX_CONCURRENCY, "--concurrency 4"),
  "batch-size": flagInt(0, 1_000_000, "--batch-size 500 (0 = BATCH_SIZE)"),
  "in-flight": flagInt(1, 10_000, "--in-flight 100"),
  retries: flagInt(0, 1_000, "--retries 3"),
  "retry-delay": flagInt(0, 86_400, "--retry-delay 10 (seconds)"),
  "http-port": flagInt(0, 65_535, "--http-port 9464 (0 = any free port)"),
  depth: flagInt(1, 1_000_000, "--depth 2160"),
  "max-lag": flagInt(0, Number.MAX_SAFE_INTEGER, "--max-lag 10000 (0 = off)"),
  "max-length": flagInt(0, Number.MAX_SAFE_INTEGER, "--max-length 1000000 (0 = off)"),
  retain: flagInt(0, Number.MAX_SAFE_INTEGER, "--retain 100000 (0 = never trim)"),
  "health-max-distance": flagInt(0, 1_000_000, "--health-max-distance 5"),
  "lock-duration": flagInt(500, 3_600_000, "--lock-duration 30000 (ms)"),
  "stalled-interval": flagInt(200, 3_600_000, "--stalled-interval 30000 (ms)"),
  limit: flagInt(1, 100_000, "--limit 20"),
  // simulate
  port: flagInt(0, 65_535, "--port 1337 (0 = any free port)"),
  "initial-blocks": flagInt(0, 10_000_000, "--initial-blocks 1000"),
  "block-interval": flagInt(0, 86_400_000, "--block-interval 1000 (ms, 0 = no live production)"),
  "fork-rate": { min: 0, max: 1, integer: false, example: "--fork-rate 0.1" },
  "max-rollback": flagInt(0, 1_000_000, "--max-rollback 10"),
  "mean-block-bytes": flagInt(1, 64 * 1024 * 1024, "--mean-block-bytes 16384"),
  "epoch-length": flagInt(1, 100_000_000, "--epoch-length 432000"),
  "slot-length": flagInt(1, 86_400_000, "--slot-length 1000 (ms)"),
  k: flagInt(1, 1_000_000, "--k 2160")
} as const satisfies Record<string, FlagRange>

export type RangedFlag = keyof typeof flagRanges

/** The problem with a numeric flag value, or undefined when it is in range. */
export const flagProblem = (name: RangedFlag, value: number, given: string = String(value)): string | undefined => {
  const r: FlagRange = flagRanges[name]
  const inRange = Number.isFinite(value) && (!r.integer || Number.isSafeInteger(value)) && value >= r.min && value <= r.max
  if (inRange) return undefined
  const range = r.max === Number.MAX_SAFE_INTEGER ? `>= ${r.min}` : `from ${r.min} to ${r.max}`
  return `--${name} must be ${r.integer ? "an integer" : "a number"} ${range}, got ${given} — e.g. ${r.example}`
}

/** `a..b` or `a`: the epochs a mainnet-shaped simulator lays out (the first Shelley epoch is 208). */
export const FIRST_MAINNET_SHAPED_EPOCH = 208
export const epochRangeProblem = (text: string): string | undefined => {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim())
  const from = m === null ? NaN : Number(m[1])
  const to = m === null ? NaN : m[2] === undefined ? from : Number(m[2])
  if (m === null || !(to >= from)) return `--epochs must look like a..b with a <= b, got ${show(text)} — e.g. --epochs 208..210`
  if (from < FIRST_MAINNET_SHAPED_EPOCH) {
    return `--epochs of a mainnet-shaped network start at ${FIRST_MAINNET_SHAPED_EPOCH} (the first Shelley epoch), got ${show(text)} — e.g. --epochs ${FIRST_MAINNET_SHAPED_EPOCH}..${Math.max(FIRST_MAINNET_SHAPED_EPOCH, to)}`
  }
  return undefined
}

export const ENV_FILE_VARIABLE = "HECATE_ENV_FILE"
