/**
 * The network a `hecate simulate` run serves, from its flags: a custom network (era, epoch length,
 * slot length, k) or a mainnet-shaped range of epochs. Flags of the other network kind are refused
 * rather than ignored, and a custom Byron network keeps Byron's rule that an epoch is 10·k slots.
 */
import { Option } from "effect"
import { epochRangeProblem } from "../config/settings.js"
import { DEFAULT_MAX_ROLLBACK } from "./live.js"
import { MAINNET } from "./mainnet.js"
import type { SimulatorOptions } from "./index.js"

/** "a..b" or "a" */
export const parseEpochRange = (text: string): { from: number; to: number } | undefined => {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim())
  if (!m) return undefined
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  return to >= from ? { from, to } : undefined
}

/** The simulate flags that shape the network. */
export interface NetworkFlags {
  readonly network: "custom" | "mainnet-shaped"
  readonly epochs: Option.Option<string>
  readonly era: Option.Option<SimulatorOptions["era"] & string>
  readonly epochLength: Option.Option<number>
  readonly slotLength: Option.Option<number>
  readonly k: Option.Option<number>
  /** none: 10, or k when k is smaller (a fork is never deeper than k) */
  readonly maxRollback: Option.Option<number>
}

/** A flag the user gave that does not fit the others: the flag and a one-line message with an example. */
export interface FlagProblem {
  readonly variable: string
  readonly message: string
}

/**
 * The network-shaping options the flags ask for, or the first flag that does not fit: flags of
 * the other network kind, a bad --epochs range, a Byron epoch length that is not 10·k, a
 * --max-rollback deeper than k.
 */
export const networkOptions = (
  f: NetworkFlags
): FlagProblem | Pick<SimulatorOptions, "network" | "epochs" | "era" | "epochLength" | "securityParameter" | "maxRollback"> => {
  if (f.network === "custom") {
    if (Option.isSome(f.epochs)) {
      return {
        variable: "--epochs",
        message: `--epochs applies to --network mainnet-shaped only (a custom network starts at epoch 0) — drop it, or e.g. --network mainnet-shaped --epochs ${f.epochs.value}`
      }
    }
    const era = Option.getOrElse(f.era, () => "conway" as const)
    let k = Option.getOrUndefined(f.k)
    let epochLength = Option.getOrUndefined(f.epochLength)
    if (era === "byron") {
      // a Byron epoch is 10·k slots (the genesis gives k; clients derive the epoch length from it)
      if (epochLength !== undefined && k !== undefined && epochLength !== 10 * k) {
        return {
          variable: "--epoch-length",
          message: `--epoch-length ${epochLength} does not fit --k ${k}: a Byron epoch is 10·k slots — use --epoch-length ${10 * k}, e.g. --era byron --k ${k} --epoch-length ${10 * k} (or --k ${Math.max(1, Math.round(epochLength / 10))} with --epoch-length ${10 * Math.max(1, Math.round(epochLength / 10))})`
        }
      }
      if (epochLength !== undefined && k === undefined) {
        if (epochLength % 10 !== 0) {
          return {
            variable: "--epoch-length",
            message: `--epoch-length ${epochLength} is not a Byron epoch: a Byron epoch is 10·k slots — use a multiple of 10, e.g. --epoch-length 1000 (k = 100, the default)`
          }
        }
        k = epochLength / 10
      }
      k ??= 100
      epochLength ??= 10 * k
    }
    k ??= 100
    const maxRollback = Option.getOrElse(f.maxRollback, () => Math.min(DEFAULT_MAX_ROLLBACK, k))
    if (maxRollback > k) {
      // the node never rolls back more than k blocks; a deeper fork is not a chain Cardano makes
      return { variable: "--max-rollback", message: `--max-rollback ${maxRollback} is deeper than --k ${k}: forks are at most k blocks deep — e.g. --max-rollback ${k} --k ${k}` }
    }
    return { network: "custom", era, securityParameter: k, maxRollback, ...(epochLength !== undefined ? { epochLength } : {}) }
  }
  const customOnly: ReadonlyArray<readonly [string, Option.Option<unknown>]> = [
    ["--era", f.era],
    ["--epoch-length", f.epochLength],
    ["--slot-length", f.slotLength],
    ["--k", f.k]
  ]
  for (const [flag, value] of customOnly) {
    if (Option.isSome(value)) {
      return { variable: flag, message: `${flag} applies to --network custom only (a mainnet-shaped network has mainnet's eras, epochs and k) — drop it, or e.g. --network custom ${flag} ${String(value.value)}` }
    }
  }
  const text = Option.getOrElse(f.epochs, () => "507..507")
  const problem = epochRangeProblem(text)
  const epochs = parseEpochRange(text)
  if (problem !== undefined || epochs === undefined) {
    return { variable: "--epochs", message: problem ?? `--epochs must look like a..b with a <= b, got ${JSON.stringify(text)} — e.g. --epochs 208..210` }
  }
  const maxRollback = Option.getOrElse(f.maxRollback, () => DEFAULT_MAX_ROLLBACK)
  if (maxRollback > MAINNET.securityParameter) {
    return { variable: "--max-rollback", message: `--max-rollback ${maxRollback} is deeper than mainnet's k ${MAINNET.securityParameter}: forks are at most k blocks deep — e.g. --max-rollback 10` }
  }
  return { network: "mainnet-shaped", epochs, maxRollback }
}
