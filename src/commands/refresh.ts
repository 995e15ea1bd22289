/**
 * `hecate refresh`: extend the epoch index with every final epoch past what it knows, derived from
 * the chain via Ogmios, and for mainnet append them to the CSVs (docs/refresh.md).
 *
 *   --until-epoch N   stop at epoch N; exit 17 (after recording the final epochs) when N is not final
 *   --commit          commit the changed data files to their git repository (push if tracked)
 *   --data-dir DIR    the CSVs' folder (default: the package's data/); the cache defaults to
 *                     DIR/epoch_cache.json unless HECATE_EPOCH_CACHE is set
 */
import { join, resolve } from "node:path"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { configFlag, endpointFlag, intFlag, logFormatFlag, sharedOverrides } from "../config/flags.js"
import { DEFAULT_DATA_DIR } from "../backfill/epoch-index.js"
import { runCommand } from "../cli/command.js"
import { describeCommit, runRefreshJob } from "../refresh/job.js"
import { describeRefresh } from "../refresh/refresh.js"
import { defaults, HecateConfig } from "../services/HecateConfig.js"

export const refreshFlags = {
  untilEpoch: intFlag("until-epoch").pipe(
    Flag.withDescription("Derive up to this epoch at most (default: the last final epoch); refused with exit 17 if it is not final"),
    Flag.optional
  ),
  commit: Flag.Boolean("commit").pipe(
    Flag.withDescription("Commit the changed data files to their git repository (and push when the branch tracks a remote)"),
    Flag.withDefault(false)
  ),
  dataDir: Flag.String("data-dir").pipe(
    Flag.withDescription("Folder of epoch_boundaries.csv / epoch_blocks.csv (mainnet; default: the package's data/)"),
    Flag.optional
  ),
  endpoint: endpointFlag(),
  logFormat: logFormatFlag,
  config: configFlag
}

type Flags = {
  readonly [K in keyof typeof refreshFlags]: (typeof refreshFlags)[K] extends Flag.Flag<infer A> ? A : never
}

const program = (flags: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const dataDir = Option.match(flags.dataDir, { onNone: () => DEFAULT_DATA_DIR, onSome: (d) => resolve(d) })
    const cacheSet = settings.epochCachePath !== defaults.epochCachePath
    const cachePath = Option.isSome(flags.dataDir) && !cacheSet ? join(dataDir, "epoch_cache.json") : resolve(settings.epochCachePath)
    const report = yield* runRefreshJob({ dataDir, cachePath, untilEpoch: Option.getOrUndefined(flags.untilEpoch), commit: flags.commit })
    yield* Console.log(describeRefresh(report.result))
    if (report.commit !== undefined) yield* Console.log(describeCommit(report.commit))
    if (report.result.refused !== undefined) return yield* Effect.fail(report.result.refused)
  })

const run = (flags: Flags) =>
  program(flags).pipe(runCommand({
    overrides: sharedOverrides(flags),
    failure: "Refresh incomplete"
  }))

export const refreshCommand = Command.make("refresh", refreshFlags, run).pipe(
  Command.withDescription(
    "Derive every final epoch past the epoch index from the chain (boundaries + block counts, verified), append it to the cache and, for mainnet, to data/*.csv"
  )
)
