/**
 * The refresh as one self-contained run, as the `refresh` command and the schedule use it: open
 * Ogmios, detect the network, load its epoch index (shipped CSVs + cache), refresh, optionally
 * commit. Every run opens its own connection (the run's OgmiosConnector, giving up like a backfill)
 * and index (re-reading the cache), so a long-running service never works from a stale copy.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { DEFAULT_DATA_DIR, EpochIndex } from "../backfill/epoch-index.js"
import { detectNetwork } from "../backfill/network.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import type { GitCommitFailed } from "./errors.js"
import { commitDataFiles, commitMessage, type CommitOutcome } from "./git.js"
import { refreshEpochs, type RefreshError, type RefreshResult } from "./refresh.js"

export interface RefreshJobOptions {
  /** Where the mainnet CSVs live (default: the package's data/). */
  readonly dataDir?: string | undefined
  /** The epoch cache (default: <dataDir>/epoch_cache.json). */
  readonly cachePath?: string | undefined
  readonly untilEpoch?: number | undefined
  /** Commit the changed data files to their git repository (default false). */
  readonly commit?: boolean | undefined
}

export interface RefreshReport {
  readonly result: RefreshResult
  /** undefined without --commit */
  readonly commit: CommitOutcome | undefined
  /** the data files this run changed */
  readonly changedFiles: ReadonlyArray<string>
}

export const runRefreshJob = (options: RefreshJobOptions): Effect.Effect<RefreshReport, RefreshError | GitCommitFailed, OgmiosConnector> =>
  Effect.gen(function*() {
    const dataDir = options.dataDir ?? DEFAULT_DATA_DIR
    const cachePath = options.cachePath ?? join(dataDir, "epoch_cache.json")
    const connector = yield* OgmiosConnector
    const { inFlight } = connector.follower("bounded")
    return yield* Effect.gen(function*() {
      const network = yield* detectNetwork
      const result = yield* refreshEpochs({ untilEpoch: options.untilEpoch, csvDir: dataDir, inFlight }).pipe(
        Effect.provide(EpochIndex.layer({ network, dataDir, cachePath }))
      )
      const changedFiles = [
        ...(result.csv?.files ?? []),
        ...(result.derived.length > 0 && network !== "mainnet" ? [cachePath] : [])
      ]
      let commit: CommitOutcome | undefined
      if (options.commit === true) {
        const epochs = [...new Set([...result.derived.map((r) => r.epoch), ...(result.csv?.epochs ?? [])])].sort((a, b) => a - b)
        commit = changedFiles.length === 0
          ? { _tag: "NothingToCommit", repository: "" }
          : yield* commitDataFiles(changedFiles, commitMessage(network, epochs))
      }
      return { result, commit, changedFiles }
    }).pipe(Effect.provide(connector.layer("bounded")), Effect.scoped)
  })

/** One line for the commit outcome. */
export const describeCommit = (c: CommitOutcome): string => {
  switch (c._tag) {
    case "NoRepository":
      return `--commit: ${c.dir} is not in a git repository; the data files were updated but not committed.`
    case "NothingToCommit":
      return "--commit: nothing to commit (the data files did not change)."
    case "Committed":
      return `--commit: committed ${c.commit.slice(0, 12)} "${c.message}" in ${c.repository}` +
        (c.pushed !== undefined ? `, pushed to ${c.pushed}.` : " (no upstream configured: not pushed).")
  }
}
