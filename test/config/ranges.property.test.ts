/**
 * The settings table's ranges, property-based: any value outside a numeric flag's or variable's
 * range is refused with a message that names it and shows an example; any value inside is taken
 * as given (never clamped or replaced by a default).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ConfigProvider, Effect, Exit } from "effect"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { flagProblem, flagRanges, type RangedFlag, settings } from "../../src/config/settings.js"
import { HecateConfigLive } from "../../src/layers/HecateConfigLive.js"
import { describe as describeSettings } from "../../src/services/HecateConfig.js"
import { propertyRuns } from "../../src/testing/index.js"

const dir = mkdtempSync(path.join(tmpdir(), "hecate-ranges-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const EMPTY = path.join(dir, "empty.env")
writeFileSync(EMPTY, "")

const names = Object.keys(flagRanges) as Array<RangedFlag>

/** A value outside [min, max] of a flag (or a fraction, for an integer flag). */
const outside = (name: RangedFlag) => {
  const r = flagRanges[name]
  const below = r.min > -Number.MAX_SAFE_INTEGER ? [fc.double({ min: -1e12, max: r.min, maxExcluded: true, noNaN: true }).filter((n) => n < r.min)] : []
  const above = r.max < Number.MAX_SAFE_INTEGER ? [fc.double({ min: r.max, max: 1e15, minExcluded: true, noNaN: true }).filter((n) => n > r.max)] : []
  const fractions = r.integer ? [fc.double({ min: r.min, max: Math.min(r.max, 1e9), noNaN: true }).filter((n) => !Number.isInteger(n))] : []
  return fc.oneof(...below, ...above, ...fractions, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY))
}

describe("numeric flags", () => {
  it("a value out of range is refused naming the flag, with an example", () => {
    fc.assert(
      fc.property(fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), outside(name))), ([name, value]) => {
        const problem = flagProblem(name, value)
        expect(problem).toBeDefined()
        expect(problem).toContain(`--${name} must be`)
        expect(problem).toContain(`e.g. --${name} `)
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("a value in range is accepted", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names).chain((name) => {
          const r = flagRanges[name]
          return fc.tuple(fc.constant(name), r.integer ? fc.integer({ min: r.min, max: Math.min(r.max, 2 ** 31 - 1) }) : fc.double({ min: r.min, max: r.max, noNaN: true }))
        }),
        ([name, value]) => {
          expect(flagProblem(name, value)).toBeUndefined()
        }
      ),
      { numRuns: propertyRuns(500) }
    )
  })

  it("concurrency has a sane maximum", () => {
    expect(flagProblem("concurrency", 64)).toBeUndefined()
    expect(flagProblem("concurrency", 65)).toContain("from 1 to 64")
  })
})

/** The integer variables of the table: range, and the key of the setting in the settings' plain view. */
const integerVariables = [
  ["BATCH_SIZE", 1, Number.MAX_SAFE_INTEGER, "batchSize"],
  ["REDIS_MAX_UNCONSUMED_EPOCHS", 1, Number.MAX_SAFE_INTEGER, "redisMaxUnconsumedEpochs"],
  ["HECATE_IN_FLIGHT", 1, Number.MAX_SAFE_INTEGER, "inFlight"],
  ["HECATE_REQUEST_TIMEOUT_MS", 1, Number.MAX_SAFE_INTEGER, "requestTimeoutMs"],
  ["HECATE_RECONNECT_MAX_DELAY_MS", 1, Number.MAX_SAFE_INTEGER, "reconnectMaxDelayMs"],
  ["HECATE_HTTP_PORT", 0, 65_535, "httpPort"],
  ["HECATE_RELAY_DEPTH", 1, Number.MAX_SAFE_INTEGER, "relayDepth"],
  ["HECATE_RUNS_KEEP", 1, 1_000_000, "runsKeep"],
  ["HECATE_PROGRESS_INTERVAL_MS", 100, 86_400_000, "progressIntervalMs"],
  ["HECATE_LOCK_TTL_MS", 300, 3_600_000, "lockTtlMs"],
  ["HECATE_HEALTH_MAX_DISTANCE", 0, 1_000_000, "healthMaxDistance"],
  ["HECATE_WORKER_LOCK_MS", 500, 3_600_000, "workerLockMs"],
  ["HECATE_WORKER_STALLED_MS", 200, 3_600_000, "workerStalledMs"],
  ["HECATE_WORKER_MAX_STALLED", 0, 1_000, "workerMaxStalled"],
  ["HECATE_DISTRIBUTED_POLL_MS", 0, 600_000, "distributedPollMs"]
] as const

const load = (env: Record<string, string>) =>
  Effect.runPromiseExit(
    HecateConfigLive.load({}).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ HECATE_ENV_FILE: EMPTY, ...env })))
  )

describe("integer variables", () => {
  it("every one listed here is in the table", () => {
    const variables = new Set(settings.map((s) => s.variable))
    for (const [variable] of integerVariables) expect(variables.has(variable)).toBe(true)
  })

  it("a value out of range, or not an integer, is refused naming the variable", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...integerVariables).chain(([variable, min, max]) =>
          fc.tuple(
            fc.constant(variable),
            fc.oneof(
              fc.integer({ min: -1e9, max: min - 1 }).map(String),
              ...(max < Number.MAX_SAFE_INTEGER ? [fc.integer({ min: max + 1, max: max + 1e9 }).map(String)] : []),
              fc.constantFrom("1.5", "abc", "1e3", "0x10", "--3")
            )
          )
        ),
        async ([variable, raw]) => {
          const exit = await load({ [variable]: raw })
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            const text = String(exit.cause)
            expect(text).toContain(variable)
            expect(text).toContain(`e.g. ${variable}=`)
          }
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })

  it("a value in range is taken as given", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...integerVariables).chain(([variable, min, max, key]) =>
          fc.tuple(fc.constant(variable), fc.constant(key), fc.integer({ min, max: Math.min(max, 2 ** 31 - 1) }))
        ),
        async ([variable, key, n]) => {
          const exit = await load({ [variable]: String(n) })
          expect(Exit.isSuccess(exit)).toBe(true)
          if (Exit.isSuccess(exit)) expect(describeSettings(exit.value)[key]).toBe(n)
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })
})
