// hecate.config.json: Schema validation (unknown keys and wrong types refused, naming the key) and
// precedence: flags > environment > file > .env > defaults.
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
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
