/**
 * Numeric command-line flags checked against their range in the settings table
 * (`flagRanges` in ./settings.ts) while the command line is parsed: a value out of range is a
 * usage error (exit 2) naming the flag and showing an example, before the command does anything.
 */
import { Flag } from "effect/cli"
import { flagProblem, type RangedFlag } from "./settings.js"

const ranged = (name: RangedFlag, flag: Flag.Flag<number>): Flag.Flag<number> =>
  flag.pipe(Flag.filter((n) => flagProblem(name, n) === undefined, (n) => flagProblem(name, n) ?? `--${name}: ${n}`))

/** `Flag.Int(name)` restricted to its range in the settings table. */
export const intFlag = (name: RangedFlag): Flag.Flag<number> => ranged(name, Flag.Int(name))

/** `Flag.Finite(name)` restricted to its range in the settings table. */
export const numberFlag = (name: RangedFlag): Flag.Flag<number> => ranged(name, Flag.Finite(name))

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
