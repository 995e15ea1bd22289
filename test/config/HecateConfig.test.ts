import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { inspect } from "node:util"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Logger, Option, Redacted } from "effect"
import { HecateConfigLive } from "../../src/layers/HecateConfigLive.js"
import {
  describe as describeSettings,
  HecateConfig,
  type HecateConfigOverrides,
  InvalidConfiguration
} from "../../src/services/HecateConfig.js"

const dir = mkdtempSync(path.join(tmpdir(), "hecate-config-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
const envFile = (contents: string): string => {
  const file = path.join(dir, `env-${files++}`)
  writeFileSync(file, contents)
  return file
}
const EMPTY = envFile("")

/** `env` plays the real environment; HECATE_ENV_FILE defaults to an empty file so ./.env never leaks in. */
const load = (env: Record<string, string>, overrides: HecateConfigOverrides = {}) =>
  HecateConfigLive.load(overrides).pipe(
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ HECATE_ENV_FILE: EMPTY, ...env })))
  )

const SECRET = "s3cr3t-Pa55"

describe("HecateConfig", () => {
  it.effect("defaults", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      assert.deepStrictEqual(describeSettings(config), {
        ogmiosEndpoints: ["ws://127.0.0.1:1337"],
        redisUrl: "redis://127.0.0.1:6379/0",
        batchSize: 500,
        redisMaxUnconsumedEpochs: 5,
        epochCachePath: "data/epoch_cache.json",
        envFile: EMPTY,
        configFile: null,
        inFlight: 100,
        requestTimeoutMs: 30_000,
        reconnectMaxDelayMs: 5_000,
        logLevel: "Info",
        logFormat: "pretty",
        httpHost: "127.0.0.1",
        httpPort: 9464,
        refreshCron: "0 0 * * *",
        relayDepth: null,
        relayPrefix: "hecate:relay:",
        historyPrefix: "hecate:history:",
        runsPrefix: "hecate:runs:",
        runsKeep: 200,
        progressIntervalMs: 10_000,
        lockTtlMs: null,
        healthMaxDistance: 5,
        backfillConcurrency: null,
        epochRetries: 3,
        epochRetryDelaySeconds: 10,
        queuePrefix: "bull",
        workerLockMs: 30_000,
        workerStalledMs: 30_000,
        workerMaxStalled: 5,
        distributedPollMs: 0
      })
      assert.strictEqual(Redacted.value(config.redisUrl), "redis://127.0.0.1:6379/0")
      assert.isTrue(Option.isNone(config.relayDepth))
    }))

  it.effect("every variable from the environment", () =>
    Effect.gen(function*() {
      const config = yield* load({
        OGMIOS_ENDPOINTS: `["ws://a:1337", "wss://b.example/ogmios"]`,
        REDIS_URL: "rediss://user:pw@redis.example:6380/2",
        BATCH_SIZE: "250",
        REDIS_MAX_UNCONSUMED_EPOCHS: "8",
        HECATE_EPOCH_CACHE: "/var/lib/hecate/epochs.json",
        HECATE_IN_FLIGHT: "16",
        HECATE_REQUEST_TIMEOUT_MS: "1500",
        HECATE_RECONNECT_MAX_DELAY_MS: "60000",
        HECATE_LOG_LEVEL: "WARNING",
        HECATE_LOG_FORMAT: "JSON",
        HECATE_HTTP_HOST: "0.0.0.0",
        HECATE_HTTP_PORT: "0",
        HECATE_REFRESH_CRON: "*/5 * * * *",
        HECATE_RELAY_DEPTH: "2160",
        HECATE_RELAY_PREFIX: "test:relay:",
        HECATE_HISTORY_PREFIX: "test:history:"
      })
      assert.deepStrictEqual(config.ogmiosEndpoints, ["ws://a:1337", "wss://b.example/ogmios"])
      assert.strictEqual(Redacted.value(config.redisUrl), "rediss://user:pw@redis.example:6380/2")
      assert.strictEqual(config.batchSize, 250)
      assert.strictEqual(config.redisMaxUnconsumedEpochs, 8)
      assert.strictEqual(config.epochCachePath, "/var/lib/hecate/epochs.json")
      assert.strictEqual(config.inFlight, 16)
      assert.strictEqual(Duration.toMillis(config.requestTimeout), 1500)
      assert.strictEqual(Duration.toMillis(config.reconnectMaxDelay), 60_000)
      assert.strictEqual(config.logLevel, "Warn")
      assert.strictEqual(config.logFormat, "json")
      assert.strictEqual(config.httpHost, "0.0.0.0")
      assert.strictEqual(config.httpPort, 0)
      assert.strictEqual(config.refreshCron, "*/5 * * * *")
      assert.deepStrictEqual(config.relayDepth, Option.some(2160))
      assert.strictEqual(config.relayPrefix, "test:relay:")
      assert.strictEqual(config.historyPrefix, "test:history:")
    }))

  it.effect("the .env file fills in what the real environment does not set", () =>
    Effect.gen(function*() {
      const file = envFile([
        "# comment",
        "BATCH_SIZE=100",
        "export HECATE_LOG_LEVEL=debug",
        `OGMIOS_ENDPOINTS='["ws://from-file:1337"]'`,
        `REDIS_URL="redis://:${SECRET}@file-host:6379/1" # inline comment`
      ].join("\n"))
      const config = yield* load({ HECATE_ENV_FILE: file, BATCH_SIZE: "200" })
      assert.strictEqual(config.batchSize, 200) // real env wins
      assert.strictEqual(config.logLevel, "Debug") // from the file
      assert.deepStrictEqual(config.ogmiosEndpoints, ["ws://from-file:1337"])
      assert.strictEqual(Redacted.value(config.redisUrl), `redis://:${SECRET}@file-host:6379/1`)
      assert.deepStrictEqual(config.envFile, Option.some(file))
    }))

  it.effect("flag overrides win over the environment and the file; undefined means not given", () =>
    Effect.gen(function*() {
      const file = envFile("HECATE_IN_FLIGHT=7\nBATCH_SIZE=100\n")
      const config = yield* load(
        { HECATE_ENV_FILE: file, BATCH_SIZE: "200", HECATE_LOG_LEVEL: "error" },
        {
          batchSize: 50,
          inFlight: 3,
          ogmiosEndpoints: ["ws://flag:1"],
          redisUrl: Redacted.make("redis://flag:6379/0"),
          relayDepth: Option.some(10),
          requestTimeout: Duration.seconds(2),
          logLevel: undefined
        }
      )
      assert.strictEqual(config.batchSize, 50)
      assert.strictEqual(config.inFlight, 3)
      assert.deepStrictEqual(config.ogmiosEndpoints, ["ws://flag:1"])
      assert.strictEqual(Redacted.value(config.redisUrl), "redis://flag:6379/0")
      assert.deepStrictEqual(config.relayDepth, Option.some(10))
      assert.strictEqual(Duration.toMillis(config.requestTimeout), 2000)
      assert.strictEqual(config.logLevel, "Error")
    }))

  it.effect("an envFile override replaces HECATE_ENV_FILE", () =>
    Effect.gen(function*() {
      const a = envFile("BATCH_SIZE=11\n")
      const b = envFile("BATCH_SIZE=22\n")
      const config = yield* load({ HECATE_ENV_FILE: a }, { envFile: b })
      assert.strictEqual(config.batchSize, 22)
    }))

  it.effect("empty values count as unset", () =>
    Effect.gen(function*() {
      const config = yield* load({ BATCH_SIZE: "", HECATE_RELAY_DEPTH: "" })
      assert.strictEqual(config.batchSize, 500)
      assert.isTrue(Option.isNone(config.relayDepth))
    }))

  it.effect("reads process-style environments (ConfigProvider.fromEnv)", () =>
    Effect.gen(function*() {
      const config = yield* HecateConfigLive.load().pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({
          env: { HECATE_ENV_FILE: EMPTY, HECATE_HTTP_PORT: "9999", HECATE_HISTORY_PREFIX: "x:" }
        })))
      )
      assert.strictEqual(config.httpPort, 9999)
      assert.strictEqual(config.historyPrefix, "x:")
    }))

  const invalid: ReadonlyArray<readonly [variable: string, value: string, expected: string]> = [
    [
      "OGMIOS_ENDPOINTS",
      "ws://x",
      `OGMIOS_ENDPOINTS must be a JSON array of ws:// URLs, got "ws://x" — e.g. OGMIOS_ENDPOINTS='["ws://localhost:1337"]'`
    ],
    ["OGMIOS_ENDPOINTS", `{"a":1}`, "OGMIOS_ENDPOINTS must be a JSON array of ws:// URLs"],
    ["OGMIOS_ENDPOINTS", `[1337]`, "OGMIOS_ENDPOINTS must be a JSON array of ws:// URLs"],
    ["OGMIOS_ENDPOINTS", `[]`, "OGMIOS_ENDPOINTS must list at least one endpoint"],
    ["OGMIOS_ENDPOINTS", `["http://x:1337"]`, `OGMIOS_ENDPOINTS must contain only ws:// or wss:// URLs, got "http://x:1337"`],
    ["REDIS_URL", "localhost:6379", "REDIS_URL must be a redis:// or rediss:// URL"],
    ["BATCH_SIZE", "0", "BATCH_SIZE must be an integer >= 1, got 0 — e.g. BATCH_SIZE=500"],
    ["BATCH_SIZE", "lots", `BATCH_SIZE must be an integer >= 1, got "lots"`],
    ["BATCH_SIZE", "1.5", `BATCH_SIZE must be an integer >= 1, got "1.5"`],
    ["REDIS_MAX_UNCONSUMED_EPOCHS", "-1", "REDIS_MAX_UNCONSUMED_EPOCHS must be an integer >= 1, got -1"],
    ["HECATE_EPOCH_CACHE", "  ", "HECATE_EPOCH_CACHE must be a non-empty value"],
    ["HECATE_IN_FLIGHT", "0", "HECATE_IN_FLIGHT must be an integer >= 1"],
    ["HECATE_REQUEST_TIMEOUT_MS", "30s", `HECATE_REQUEST_TIMEOUT_MS must be an integer >= 1, got "30s" — e.g. HECATE_REQUEST_TIMEOUT_MS=30000`],
    ["HECATE_RECONNECT_MAX_DELAY_MS", "0", "HECATE_RECONNECT_MAX_DELAY_MS must be an integer >= 1"],
    ["HECATE_LOG_LEVEL", "loud", `HECATE_LOG_LEVEL must be one of all, trace, debug, info, warn, warning, error, fatal, critical, none, off (any case), got "loud"`],
    ["HECATE_LOG_FORMAT", "xml", `HECATE_LOG_FORMAT must be pretty or json, got "xml"`],
    ["HECATE_HTTP_HOST", "my host", "HECATE_HTTP_HOST must be a non-empty value without spaces"],
    ["HECATE_HTTP_PORT", "70000", "HECATE_HTTP_PORT must be an integer from 0 to 65535, got 70000"],
    ["HECATE_REFRESH_CRON", "every day", `HECATE_REFRESH_CRON must be a cron expression (minute hour day month weekday, UTC), got "every day"`],
    ["HECATE_RELAY_DEPTH", "0", "HECATE_RELAY_DEPTH must be an integer >= 1, got 0 — e.g. HECATE_RELAY_DEPTH=2160"],
    ["HECATE_RELAY_PREFIX", " ", "HECATE_RELAY_PREFIX must be a non-empty value"],
    ["HECATE_HISTORY_PREFIX", "a b", "HECATE_HISTORY_PREFIX must be a non-empty value"]
  ]

  it.effect.each(invalid)("invalid %s=%s names the variable", ([variable, value, expected]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load({ [variable]: value }))
      assert.instanceOf(error, InvalidConfiguration)
      assert.strictEqual(error._tag, "InvalidConfiguration")
      assert.strictEqual(error.variable, variable)
      assert.include(error.message, expected)
    }))

  it.effect("an invalid value in the .env file is reported like an env value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load({ HECATE_ENV_FILE: envFile("HECATE_IN_FLIGHT=many\n") }))
      assert.strictEqual(error.variable, "HECATE_IN_FLIGHT")
      assert.include(error.message, `got "many"`)
    }))

  it.effect("invalid flag overrides name the variable they override", () =>
    Effect.gen(function*() {
      const batch = yield* Effect.flip(load({}, { batchSize: 0 }))
      assert.strictEqual(batch.variable, "BATCH_SIZE")
      assert.include(batch.message, "BATCH_SIZE (set by a command-line flag) must be an integer >= 1, got 0")
      const endpoints = yield* Effect.flip(load({}, { ogmiosEndpoints: ["tcp://x"] }))
      assert.strictEqual(endpoints.variable, "OGMIOS_ENDPOINTS")
      const depth = yield* Effect.flip(load({}, { relayDepth: Option.some(-3) }))
      assert.strictEqual(depth.variable, "HECATE_RELAY_DEPTH")
    }))

  it.effect("a HECATE_ENV_FILE that does not exist is an error", () =>
    Effect.gen(function*() {
      const missing = path.join(dir, "nope.env")
      const error = yield* Effect.flip(load({ HECATE_ENV_FILE: missing }))
      assert.strictEqual(error.variable, "HECATE_ENV_FILE")
      assert.include(error.message, `${JSON.stringify(missing)}, which does not exist`)
    }))

  it.effect("HecateConfigLive.layer provides the service", () =>
    Effect.gen(function*() {
      const config = yield* HecateConfig
      assert.strictEqual(config.batchSize, 42)
      assert.strictEqual(config.httpPort, 1234)
    }).pipe(
      Effect.provide(HecateConfigLive.layer({ batchSize: 42 }).pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ HECATE_ENV_FILE: EMPTY, HECATE_HTTP_PORT: "1234" })))
      ))
    ))

  it.effect("HecateConfig.layerTest gives the defaults with replacements", () =>
    Effect.gen(function*() {
      const config = yield* HecateConfig
      assert.strictEqual(config.historyPrefix, "t:")
      assert.strictEqual(config.batchSize, 500)
    }).pipe(Effect.provide(HecateConfig.layerTest({ historyPrefix: "t:" }))))

  describe("the Redis password never shows", () => {
    const withPassword = { REDIS_URL: `redis://hecate:${SECRET}@redis.internal:6379/0` }

    it.effect("String, JSON and util.inspect show the URL with ***", () =>
      Effect.gen(function*() {
        const config = yield* load(withPassword)
        assert.strictEqual(Redacted.value(config.redisUrl), withPassword.REDIS_URL)
        for (const text of [String(config), `${config}`, JSON.stringify(config), inspect(config, { depth: 5 })]) {
          assert.notInclude(text, SECRET)
          assert.include(text, "redis://hecate:***@redis.internal:6379/0")
        }
        assert.notInclude(String(config.redisUrl), SECRET)
        assert.notInclude(JSON.stringify({ url: config.redisUrl }), SECRET)
      }))

    it.effect("log output, in every format, does not contain it", () =>
      Effect.gen(function*() {
        const config = yield* load(withPassword)
        const lines: Array<string> = []
        const capture = (format: Logger.Logger<unknown, unknown>) =>
          Logger.map(format, (out) => {
            lines.push(typeof out === "string" ? out : JSON.stringify(out))
          })
        const loggers = [Logger.formatSimple, Logger.formatLogFmt, Logger.formatJson, Logger.formatStructured].map(capture)
        yield* Effect.logInfo("config", config).pipe(
          Effect.annotateLogs({ config, redisUrl: config.redisUrl }),
          Effect.provide(Logger.layer(loggers))
        )
        assert.strictEqual(lines.length, 4)
        for (const line of lines) {
          assert.notInclude(line, SECRET)
          assert.include(line, "redis.internal")
        }
      }))

    it.effect("error messages for an invalid REDIS_URL do not echo it", () =>
      Effect.gen(function*() {
        for (const value of [`http://u:${SECRET}@x:6379`, `not a url ${SECRET}`]) {
          const error = yield* Effect.flip(load({ REDIS_URL: value }))
          assert.strictEqual(error.variable, "REDIS_URL")
          assert.notInclude(error.message, SECRET)
          assert.notInclude(JSON.stringify(error), SECRET)
          assert.notInclude(String(error), SECRET)
        }
      }))
  })
})
