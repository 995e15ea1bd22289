/**
 * A command's composition root (src/cli/command.ts): the settings are loaded once, with the
 * command's flag overrides, and everything the program takes — HecateConfig, the config file, the
 * OgmiosConnector — is built from that one load; a setting that does not load is the command's
 * one-line failure (exit 2) and the program never runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Duration, Effect, Exit, Layer } from "effect"
import { runCommand } from "../../src/cli/command.js"
import { ReportedFailure } from "../../src/cli/report.js"
import { HecateConfigFile } from "../../src/config/file.js"
import { HecateConfig } from "../../src/services/HecateConfig.js"
import { OgmiosConnector } from "../../src/services/OgmiosConnector.js"

const dir = mkdtempSync(path.join(tmpdir(), "hecate-root-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const EMPTY = path.join(dir, "empty.env")
writeFileSync(EMPTY, "")

const withEnv = (env: Record<string, string>) =>
  Layer.mergeAll(ConfigProvider.layer(ConfigProvider.fromUnknown({ HECATE_ENV_FILE: EMPTY, ...env })))

describe("runCommand", () => {
  it.effect("gives the program the settings of one load: environment, config file and flags, and a connector built from them", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "hecate.config.json")
      writeFileSync(file, JSON.stringify({ ogmios: { reconnectMaxDelayMs: 700 }, relay: { retain: 42 } }))
      const seen = yield* Effect.gen(function*() {
        const settings = yield* HecateConfig
        const config = yield* HecateConfigFile
        const connector = yield* OgmiosConnector
        return { settings, config, follower: connector.follower("bounded"), endpoints: connector.endpoints }
      }).pipe(
        runCommand({ overrides: { configFile: file, ogmiosEndpoints: ["ws://flag:1"] }, failure: "Test stopped" }),
        Effect.provide(withEnv({ HECATE_REQUEST_TIMEOUT_MS: "1234", HECATE_IN_FLIGHT: "7" }))
      )
      assert.deepStrictEqual(seen.endpoints, ["ws://flag:1"])
      assert.deepStrictEqual(seen.settings.ogmiosEndpoints, ["ws://flag:1"])
      assert.strictEqual(Duration.toMillis(seen.settings.requestTimeout), 1234)
      assert.strictEqual(seen.config.config.relay?.retain, 42)
      assert.strictEqual(seen.follower.requestTimeout, 1234)
      assert.strictEqual(seen.follower.inFlight, 7)
      assert.strictEqual(seen.follower.reconnect.maxDelay, 700)
      assert.strictEqual(seen.follower.reconnect.maxAttempts, 3)
      assert.deepStrictEqual(seen.follower.endpoints, ["ws://flag:1"])
    }))

  it.effect("a setting that does not load is the command's one-line failure, exit 2, and the program never runs", () =>
    Effect.gen(function*() {
      let ran = false
      const exit = yield* Effect.sync(() => {
        ran = true
      }).pipe(
        runCommand({ overrides: {}, failure: "Test stopped" }),
        Effect.provide(withEnv({ HECATE_REQUEST_TIMEOUT_MS: "soon" })),
        Effect.exit
      )
      assert.isFalse(ran)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, ReportedFailure)
      assert.strictEqual((error as ReportedFailure).code, 2)
      assert.match((error as ReportedFailure).message, /^HECATE_REQUEST_TIMEOUT_MS must be an integer/)
    }))
})
