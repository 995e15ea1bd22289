// hecate.config.json: Schema validation (unknown keys and wrong types refused, naming the key) and
// precedence: flags > environment > file > .env > defaults.
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Duration, Effect, Option } from "effect"
import { fileVariables, parseConfigFile, withConfigFile } from "../../src/config/file.js"
import { HecateConfigLive } from "../../src/layers/HecateConfigLive.js"

const file = {
  ogmios: { endpoints: ["ws://file-node:1337"], inFlight: 7 },
  http: { port: 9999 },
  refresh: { cron: "30 2 * * *", interval: "6 hours" },
  relay: { prefix: "file:relay:", depth: 15 }
}

describe("config file", () => {
  it.effect("maps to the settings' variables", () =>
    Effect.sync(() => {
      expect(fileVariables(file)).toEqual({
        OGMIOS_ENDPOINTS: '["ws://file-node:1337"]',
        HECATE_IN_FLIGHT: "7",
        HECATE_HTTP_PORT: "9999",
        HECATE_REFRESH_CRON: "30 2 * * *",
        HECATE_RELAY_PREFIX: "file:relay:",
        HECATE_RELAY_DEPTH: "15"
      })
    }))

  it.effect("environment beats the file, flags beat both, the file beats defaults", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromUnknown({ HECATE_ENV_FILE: "/dev/null", HECATE_HTTP_PORT: "8080" })
      const settings = yield* withConfigFile(file, HecateConfigLive.load({ inFlight: 3 })).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, env)
      )
      expect(settings.httpPort).toBe(8080) // env
      expect(settings.inFlight).toBe(3) // flag
      expect(settings.ogmiosEndpoints).toEqual(["ws://file-node:1337"]) // file
      expect(settings.refreshCron).toBe("30 2 * * *") // file
      expect(settings.relayPrefix).toBe("file:relay:")
      expect(settings.historyPrefix).toBe("hecate:history:") // default
    }))

  it.effect("a file value is validated like its variable", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromUnknown({ HECATE_ENV_FILE: "/dev/null" })
      const error = yield* withConfigFile({ refresh: { cron: "every day" } }, HecateConfigLive.load({})).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, env),
        Effect.flip
      )
      expect(error.variable).toBe("HECATE_REFRESH_CRON")
    }))

  it.effect("unknown keys and wrong types are refused, naming them", () =>
    Effect.gen(function*() {
      const typo = yield* Effect.flip(parseConfigFile(JSON.stringify({ relay: { prefx: "x" } }), "/etc/hecate.config.json"))
      expect(typo.message).toContain("/etc/hecate.config.json is invalid")
      expect(typo.message).toContain("prefx")
      const type = yield* Effect.flip(parseConfigFile(JSON.stringify({ http: { port: "80" } }), "f.json"))
      expect(type.message).toContain("port")
      const json = yield* Effect.flip(parseConfigFile("{ not json", "f.json"))
      expect(json._tag).toBe("InvalidConfiguration")
      const ok = yield* parseConfigFile(JSON.stringify(file), "f.json")
      expect(ok.refresh?.interval).toBe("6 hours")
    }))
})

describe("HecateConfigLive reads the config file itself (every command)", () => {
  it.effect("environment > file > .env > defaults, with the file named by HECATE_CONFIG or the configFile override", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "hecate-config-file-"))
      const json = join(dir, "hecate.config.json")
      writeFileSync(json, JSON.stringify({ ogmios: { requestTimeoutMs: 700, reconnectMaxDelayMs: 300 }, http: { port: 9999 }, history: { prefix: "file:history:" } }))
      const dotenv = join(dir, ".env")
      writeFileSync(dotenv, "HECATE_REQUEST_TIMEOUT_MS=1\nBATCH_SIZE=42\nHECATE_HTTP_PORT=1\n")
      const env = ConfigProvider.fromUnknown({ HECATE_ENV_FILE: dotenv, HECATE_CONFIG: json, HECATE_HTTP_PORT: "8080" })
      const { settings, file: read } = yield* HecateConfigLive.loadWithFile({}).pipe(Effect.provideService(ConfigProvider.ConfigProvider, env))
      expect(read.path).toBe(json)
      expect(Option.getOrNull(settings.configFile)).toBe(json)
      expect(settings.httpPort).toBe(8080) // environment over file and .env
      expect(Duration.toMillis(settings.requestTimeout)).toBe(700) // file over .env
      expect(Duration.toMillis(settings.reconnectMaxDelay)).toBe(300)
      expect(settings.historyPrefix).toBe("file:history:")
      expect(settings.batchSize).toBe(42) // .env where the file is silent
      // the override (--config) names another file
      const other = join(dir, "other.json")
      writeFileSync(other, JSON.stringify({ ogmios: { requestTimeoutMs: 900 } }))
      const overridden = yield* HecateConfigLive.load({ configFile: other }).pipe(Effect.provideService(ConfigProvider.ConfigProvider, env))
      expect(Duration.toMillis(overridden.requestTimeout)).toBe(900)
      rmSync(dir, { recursive: true, force: true })
    }))
})
