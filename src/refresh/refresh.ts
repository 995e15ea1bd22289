/**
 * The refresh job: extend the epoch index with every *final* epoch past what it knows, derived
 * from the chain through Ogmios (no outside API), and — for mainnet — append them to the shipped
 * CSVs. Safe by construction against the old periodic flow's failure (epoch 643 recorded while it
 * was still open, as the Python Hecate does):
 *
 * - **final** means the first block of the next epoch is immutable: at height ≤ tip height − k
 *   (k = the Shelley genesis' securityParameter). Then no rollback can move the epoch's end. The
 *   epoch of the tip is never final; neither is the one before it until the tip is k blocks past
 *   its end. `--until-epoch` cannot override this (`EpochNotFinal`, exit 17, after recording the
 *   final epochs before it);
 * - each derived row is verified (count = heights, the boundary lies astride the next epoch's first
 *   slot, heights contiguous with the previous epoch) by `deriveEpochRows` and again by
 *   `EpochIndex.extend`, which persists the network's cache atomically;
 * - epoch arithmetic comes from the network's era summaries and genesis (not mainnet constants);
 * - idempotent: a second run finds nothing past the index and changes nothing.
 */
import { Effect } from "effect"
import { deriveEpochRows, epochOfSlot } from "../backfill/epoch-derivation.js"
import { EpochIndex, type EpochRow } from "../backfill/epoch-index.js"
import { type EpochIndexInvalid, type EpochNotIndexed, formatEpochRanges } from "../backfill/errors.js"
import type { OgmiosError } from "../ogmios/errors.js"
import { Ogmios } from "../services/Ogmios.js"
import { appendRowsToCsvs, type CsvAppendResult } from "./csv.js"
import { EpochNotFinal, type DataFilesError } from "./errors.js"

export interface RefreshOptions {
  /** Derive at most up to this epoch; refused (exit 17) when it is not final. Default: the last final epoch. */
  readonly untilEpoch?: number | undefined
  /** mainnet: the folder of the CSVs to append to (default: none = do not touch CSVs). */
  readonly csvDir?: string | undefined
  /** nextBlock requests in flight while walking (default 100). */
  readonly inFlight?: number | undefined
}

export interface RefreshResult {
  readonly network: string
  /** the index's last epoch before the run (undefined: empty) */
  readonly knownBefore: number | undefined
  /** the index's last epoch after the run */
  readonly knownAfter: number | undefined
  readonly tip: { readonly slot: number; readonly height: number; readonly epoch: number }
  readonly securityParameter: number
  /** the highest height no rollback can replace (tip height − k) */
  readonly immutableHeight: number
  /** rows added to the index by this run */
  readonly derived: ReadonlyArray<EpochRow>
  /** rows appended to the CSVs (mainnet with csvDir), with the files and line ending */
  readonly csv: CsvAppendResult | undefined
  /** set when `untilEpoch` asked for an epoch that is not final (the final ones were recorded) */
  readonly refused: EpochNotFinal | undefined
}

export type RefreshError = OgmiosError | EpochIndexInvalid | EpochNotIndexed | EpochNotFinal | DataFilesError

/** One refresh run (see the module comment). */
export const refreshEpochs = (options: RefreshOptions = {}): Effect.Effect<RefreshResult, RefreshError, Ogmios | EpochIndex> =>
  Effect.gen(function*() {
    const ogmios = yield* Ogmios
    const index = yield* EpochIndex
    const network = index.network
    const genesis = yield* ogmios.queryNetworkGenesisConfiguration("shelley")
    const k = genesis.securityParameter
    const summaries = yield* ogmios.queryLedgerStateEraSummaries()
    // slot, id and height of the tip at once (findIntersection at origin always succeeds)
    const { tip } = yield* ogmios.findIntersection(["origin"])
    const tipSlot = tip === "origin" ? 0 : tip.slot
    const tipHeight = tip === "origin" ? -1 : tip.height
    const tipEpoch = epochOfSlot(summaries, tipSlot)
    const immutableHeight = tipHeight - k
    const known = yield* index.knownRange()
    const knownBefore = known?.last

    const target = Math.min(options.untilEpoch ?? Number.POSITIVE_INFINITY, tipEpoch - 1)
    let derived: Array<EpochRow> = []
    if (tip !== "origin" && (knownBefore === undefined || knownBefore < target)) {
      const anchorRow = knownBefore === undefined ? undefined : yield* index.boundary(knownBefore)
      yield* Effect.logInfo(
        `refresh ${network}: index ends at ${knownBefore ?? "(empty)"}, tip height ${tipHeight} in epoch ${tipEpoch}, ` +
          `k = ${k}: deriving the final epochs among ${knownBefore === undefined ? 0 : knownBefore + 1} .. ${target} from the chain`
      )
      derived = yield* deriveEpochRows({
        anchor: anchorRow === undefined ? undefined : { slot: anchorRow.endSlot, hash: anchorRow.endHash, height: anchorRow.endHeight },
        untilEpoch: target,
        summaries,
        finalHeight: immutableHeight,
        ...(options.inFlight !== undefined ? { inFlight: options.inFlight } : {})
      })
      if (derived.length > 0) yield* index.extend(derived)
    }
    const knownAfter = (yield* index.knownRange())?.last

    // mainnet: the CSVs catch up with the index (also rows a previous run put in the cache only)
    let csv: CsvAppendResult | undefined
    if (options.csvDir !== undefined && network === "mainnet" && knownAfter !== undefined) {
      const rows: Array<EpochRow> = []
      const first = (yield* index.knownRange())?.first ?? knownAfter
      for (let e = first; e <= knownAfter; e++) {
        const r = yield* index.lookup(e)
        if (r !== undefined) rows.push(r)
      }
      csv = yield* appendRowsToCsvs(options.csvDir, rows)
    }

    const lastFinalSeen = knownAfter ?? -1
    const refused = options.untilEpoch !== undefined && options.untilEpoch > lastFinalSeen
      ? new EpochNotFinal({
        requested: options.untilEpoch,
        epoch: lastFinalSeen + 1,
        lastFinal: lastFinalSeen,
        tipEpoch,
        tipHeight,
        securityParameter: k
      })
      : undefined
    return {
      network,
      knownBefore,
      knownAfter,
      tip: { slot: tipSlot, height: tipHeight, epoch: tipEpoch },
      securityParameter: k,
      immutableHeight,
      derived,
      csv,
      refused
    }
  })

/** `refreshEpochs`, failing with `EpochNotFinal` when `untilEpoch` was refused (after recording the final epochs). */
export const refreshEpochsOrFail = (options: RefreshOptions = {}): Effect.Effect<RefreshResult, RefreshError, Ogmios | EpochIndex> =>
  Effect.flatMap(refreshEpochs(options), (r) => (r.refused !== undefined ? Effect.fail(r.refused) : Effect.succeed(r)))

/** One line saying what the run did. */
export const describeRefresh = (r: RefreshResult): string => {
  const where = `tip height ${r.tip.height} in epoch ${r.tip.epoch}, k = ${r.securityParameter}`
  const last = r.knownAfter === undefined ? "is empty" : `ends at epoch ${r.knownAfter}`
  if (r.derived.length === 0) {
    const pending = r.knownAfter === undefined ? 0 : r.knownAfter + 1
    const why = pending >= r.tip.epoch ? `epoch ${pending} is the tip's epoch` : `epoch ${pending} is not final yet`
    return `refresh ${r.network}: nothing new — the epoch index ${last}; ${why} (${where}).` +
      (r.csv !== undefined && r.csv.epochs.length > 0 ? ` CSVs caught up with the index: epochs ${formatEpochRanges(r.csv.epochs)} appended (${r.csv.lineEnding}).` : "")
  }
  const first = r.derived[0]!
  const lastRow = r.derived[r.derived.length - 1]!
  const blocks = r.derived.reduce((n, row) => n + row.blocks, 0)
  const csv = r.csv === undefined
    ? ""
    : r.csv.epochs.length === 0
    ? " CSVs already had them."
    : ` Appended to ${r.csv.files.length} CSV files: epochs ${formatEpochRanges(r.csv.epochs)} (${r.csv.lineEnding} line endings).`
  return `refresh ${r.network}: recorded final epoch${r.derived.length === 1 ? "" : "s"} ${formatEpochRanges(r.derived.map((x) => x.epoch))} ` +
    `(${blocks} blocks, heights ${first.startHeight}..${lastRow.endHeight}); the epoch index ${last} (${where}).${csv}`
}
