/**
 * Numeric command-line flags checked against their range in the settings table
 * (`flagRanges` in ./settings.ts) while the command line is parsed: a value out of range is a
 * usage error (exit 2) naming the flag and showing an example, before the command does anything.
 */
import { Option } from "effect"
import { Flag } from "effect/cli"
import type { HecateConfigOverrides } from "../services/HecateConfig.js"
import { flagProblem, type RangedFlag } from "./settings.js"

/** A decimal number as typed (`4`, `-1`, `0.5`, `1e3`); anything else is not one. */
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i

/**
 * A numeric flag read as text and checked against its range in one step, so "abc", "1.5" or "0"
 * all get the same message: the flag, its range, what was given and an example.
 */
const ranged = (name: RangedFlag, metavar: "integer" | "number"): Flag.Flag<number> =>
  Flag.String(name).pipe(
    Flag.withMetavar(metavar),
    Flag.filterMap(
      (text) => {
        const n = NUMBER.test(text.trim()) ? Number(text) : Number.NaN
        return flagProblem(name, n) === undefined ? Option.some(n) : Option.none()
      },
      (text) => flagProblem(name, NUMBER.test(text.trim()) ? Number(text) : Number.NaN, JSON.stringify(text)) ?? `--${name}: ${text}`
    )
  )

/** An integer flag restricted to its range in the settings table. */
export const intFlag = (name: RangedFlag): Flag.Flag<number> => ranged(name, "integer")

/** A number flag restricted to its range in the settings table. */
export const numberFlag = (name: RangedFlag): Flag.Flag<number> => ranged(name, "number")

/** `--config FILE`: the config file every command reads (else HECATE_CONFIG, else ./hecate.config.json). */
export const configFlag = Flag.String("config").pipe(
  Flag.withDescription("Config file (default HECATE_CONFIG, else ./hecate.config.json if present); flags and environment win over it"),
  Flag.optional
)

/**
 * `--history-prefix P`: the key prefix of the epoch streams of the commands that backfill before
 * relaying (`sync`, `serve`); it overrides HECATE_HISTORY_PREFIX / `history.prefix` and goes
 * through that setting's check.
 */
export const historyPrefixFlag = Flag.String("history-prefix").pipe(
  Flag.withDescription("Epoch-stream key prefix of the backfill (default HECATE_HISTORY_PREFIX, hecate:history:)"),
  Flag.optional
)

/** `--log-format pretty|json`: overrides HECATE_LOG_FORMAT / `log.format` (every command that logs). */
export const logFormatFlag = Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional)

/** `--endpoint URL` (repeatable): overrides OGMIOS_ENDPOINTS; `description` says what this command does with them. */
export const endpointFlag = (description = "Ogmios endpoint ws://host:port (repeatable; default OGMIOS_ENDPOINTS)") =>
  Flag.String("endpoint").pipe(Flag.withDescription(description), Flag.atLeast(0))

/** The values of the flags most commands share (`--config`, `--endpoint`, `--log-format`) as setting overrides. */
export const sharedOverrides = (flags: {
  readonly config: Option.Option<string>
  readonly endpoint: ReadonlyArray<string>
  readonly logFormat: Option.Option<"pretty" | "json">
}): HecateConfigOverrides => ({
  configFile: Option.getOrUndefined(flags.config),
  ogmiosEndpoints: flags.endpoint.length > 0 ? flags.endpoint : undefined,
  logFormat: Option.getOrUndefined(flags.logFormat)
})
