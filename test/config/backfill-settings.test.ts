// The settings of the backfill that sync and serve run (HECATE_BACKFILL_CONCURRENCY,
// HECATE_EPOCH_RETRIES, HECATE_EPOCH_RETRY_DELAY_S; the config file's history.*): precedence
// flag > environment > file > default, and messages naming the variable, or the flag and the
// variable for a flag's value.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { HecateConfigLive } from "../../src/layers/HecateConfigLive.js"
import type { HecateConfigOverrides } from "../../src/services/HecateConfig.js"

const dir = mkdtempSync(path.join(tmpdir(), "hecate-backfill-settings-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const EMPTY = path.join(dir, "empty.env")
writeFileSync(EMPTY, "")
const config = path.join(dir, "hecate.config.json")
writeFileSync(config, JSON.stringify({ history: { concurrency: 6, retries: 9, retryDelaySeconds: 30 } }))

const load = (env: Record<string, string>, overrides: HecateConfigOverrides = {}) =>
  HecateConfigLive.load(overrides).pipe(
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ HECATE_ENV_FILE: EMPTY, ...env })))
  )

const picked = (s: { backfillConcurrency: Option.Option<number>; epochRetries: number; epochRetryDelaySeconds: number }) =>
  ({ concurrency: Option.getOrNull(s.backfillConcurrency), retries: s.epochRetries, delay: s.epochRetryDelaySeconds })

describe("the backfill settings of sync and serve", () => {
  it.effect("default: none (half the CPUs), 3, 10", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(picked(yield* load({})), { concurrency: null, retries: 3, delay: 10 })
    }))

  it.effect("the config file, then the environment over it, then the flags over both", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(picked(yield* load({ HECATE_CONFIG: config })), { concurrency: 6, retries: 9, delay: 30 })
      const env = { HECATE_CONFIG: config, HECATE_BACKFILL_CONCURRENCY: "2", HECATE_EPOCH_RETRIES: "0" }
      assert.deepStrictEqual(picked(yield* load(env)), { concurrency: 2, retries: 0, delay: 30 })
      const flags = { backfillConcurrency: Option.some(1), epochRetries: 5, epochRetryDelaySeconds: 0 }
      assert.deepStrictEqual(picked(yield* load(env, flags)), { concurrency: 1, retries: 5, delay: 0 })
    }))

  it.effect("a bad variable names it; a bad flag value names the flag and the variable", () =>
    Effect.gen(function*() {
      const concurrency = yield* Effect.flip(load({ HECATE_BACKFILL_CONCURRENCY: "65" }))
      assert.strictEqual(concurrency.variable, "HECATE_BACKFILL_CONCURRENCY")
      assert.strictEqual(concurrency.message, "HECATE_BACKFILL_CONCURRENCY must be an integer from 1 to 64, got 65 — e.g. HECATE_BACKFILL_CONCURRENCY=4")
      const delay = yield* Effect.flip(load({ HECATE_EPOCH_RETRY_DELAY_S: "soon" }))
      assert.strictEqual(delay.variable, "HECATE_EPOCH_RETRY_DELAY_S")
      const retries = yield* Effect.flip(load({}, { epochRetries: -1 }))
      assert.strictEqual(retries.variable, "HECATE_EPOCH_RETRIES")
      assert.strictEqual(retries.message, "--retries (overrides HECATE_EPOCH_RETRIES) must be an integer from 0 to 1000, got -1 — e.g. --retries 3")
      const file = path.join(dir, "bad.json")
      writeFileSync(file, JSON.stringify({ history: { retries: -2 } }))
      const fromFile = yield* Effect.flip(load({ HECATE_CONFIG: file }))
      assert.strictEqual(fromFile.variable, "HECATE_CONFIG")
    }))
})
