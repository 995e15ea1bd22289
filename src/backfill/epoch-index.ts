/**
 * The epoch index: for each epoch, its first/last block (slot, height, hash) and its block count.
 *
 * - mainnet: bootstrapped from the shipped `data/epoch_boundaries.csv` + `data/epoch_blocks.csv`
 *   (epochs 207..643), verified on load (a broken row fails loudly, naming the row);
 * - every network: overlaid with its own section of the cache file (HECATE_EPOCH_CACHE, default
 *   `data/epoch_cache.json`), keyed by network id, so a preprod cache can never leak into mainnet
 *   (the Python Hecate kept one cache for every network). Cached rows are verified too, and must agree with the shipped rows;
 * - non-mainnet networks start empty and grow through `extend` (rows derived from the chain).
 *
 * `extend` verifies the rows against the same invariants and the last known row, then rewrites the
 * cache atomically (temp file + rename; other networks' sections are preserved).
 */
import { randomBytes } from "node:crypto"
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Context, Effect, Layer, Result, Semaphore } from "effect"
import { packageDataDir } from "../config/data-dir.js"
import {
  cachedRows,
  emptyCache,
  type EpochRow,
  joinRows,
  mainnetEpochStartSlot,
  parseBlocksCsv,
  parseBoundariesCsv,
  parseCache,
  renderCache,
  sameRow,
  verifyRows,
  withNetworkRows
} from "./epoch-index-data.js"
import { EpochIndexInvalid, EpochNotIndexed } from "./errors.js"

export type { EpochBoundary, EpochRow } from "./epoch-index-data.js"

export interface KnownRange {
  readonly first: number
  readonly last: number
}

export interface EpochIndexShape {
  readonly network: string
  /** The epoch's boundary row (with its block count). */
  readonly boundary: (epoch: number) => Effect.Effect<EpochRow, EpochNotIndexed>
  /** The epoch's block count. */
  readonly blockCount: (epoch: number) => Effect.Effect<number, EpochNotIndexed>
  /** The row if known, else undefined. */
  readonly lookup: (epoch: number) => Effect.Effect<EpochRow | undefined>
  /** First and last known epoch (the index is always contiguous), or undefined when empty. */
  readonly knownRange: () => Effect.Effect<KnownRange | undefined>
  /**
   * Adds rows (derived from the chain). Rows already known must be identical; new rows must follow
   * the last known epoch contiguously (any start when the index is empty) and pass the invariants.
   * Persists the network's derived rows to the cache file atomically.
   */
  readonly extend: (rows: ReadonlyArray<EpochRow>) => Effect.Effect<void, EpochIndexInvalid>
}

export interface EpochIndexOptions {
  /** Network id, e.g. "mainnet", "preprod", "preview", or "magic-<n>". Only mainnet uses the CSVs. */
  readonly network: string
  /** Where the CSVs live. Default: the package's `data/`. */
  readonly dataDir?: string
  /** The cache file (the commands pass HECATE_EPOCH_CACHE from the settings). Default: `<dataDir>/epoch_cache.json`. */
  readonly cachePath?: string
}

/** The package's `data/` directory (src/config/data-dir.ts). */
export const DEFAULT_DATA_DIR = packageDataDir()

const describeRange = (rows: ReadonlyArray<EpochRow>): string =>
  rows.length === 0 ? "none" : `${rows[0]!.epoch}..${rows[rows.length - 1]!.epoch}`

const fromResult = <A>(r: Result.Result<A, EpochIndexInvalid>): Effect.Effect<A, EpochIndexInvalid> =>
  Result.isFailure(r) ? Effect.fail(r.failure) : Effect.succeed(r.success)

const readText = (path: string): Effect.Effect<string | undefined, EpochIndexInvalid> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : Promise.reject(e))),
    catch: (e) => new EpochIndexInvalid({ source: path, detail: `cannot read it (${(e as Error).message})` })
  })

/** Loads the shipped mainnet rows from `dataDir`, verified. */
export const loadShippedRows = (dataDir: string): Effect.Effect<Array<EpochRow>, EpochIndexInvalid> =>
  Effect.gen(function*() {
    const bPath = join(dataDir, "epoch_boundaries.csv")
    const cPath = join(dataDir, "epoch_blocks.csv")
    const bText = yield* readText(bPath)
    const cText = yield* readText(cPath)
    if (bText === undefined || cText === undefined) {
      return yield* new EpochIndexInvalid({ source: dataDir, detail: "epoch_boundaries.csv / epoch_blocks.csv are missing" })
    }
    const boundaries = yield* fromResult(parseBoundariesCsv(bText, bPath))
    const counts = yield* fromResult(parseBlocksCsv(cText, cPath))
    const rows = yield* fromResult(joinRows(boundaries, counts, `${bPath} + ${cPath}`))
    rows.sort((a, b) => a.epoch - b.epoch)
    yield* fromResult(verifyRows(rows, { source: `${bPath} + ${cPath}`, epochStartSlot: mainnetEpochStartSlot }))
    return rows
  })

/** Writes `text` to `path` atomically: a temp file in the same directory, then rename. */
export const writeFileAtomic = (path: string, text: string): Effect.Effect<void, EpochIndexInvalid> =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`
      try {
        await writeFile(tmp, text, { encoding: "utf8", flush: true })
        await rename(tmp, path)
      } catch (error) {
        await unlink(tmp).catch(() => undefined)
        throw error
      }
    },
    catch: (e) => new EpochIndexInvalid({ source: path, detail: `cannot write the epoch cache (${(e as Error).message})` })
  })

/** Builds the index for one network. */
export const make = (options: EpochIndexOptions): Effect.Effect<EpochIndexShape, EpochIndexInvalid> =>
  Effect.gen(function*() {
    const network = options.network
    const dataDir = options.dataDir ?? DEFAULT_DATA_DIR
    const cachePath = options.cachePath ?? join(dataDir, "epoch_cache.json")
    const isMainnet = network === "mainnet"
    const slotCheck = isMainnet ? mainnetEpochStartSlot : undefined

    const shipped = isMainnet ? yield* loadShippedRows(dataDir) : []
    const cacheText = yield* readText(cachePath)
    const cache = cacheText === undefined ? emptyCache() : yield* fromResult(parseCache(cacheText, cachePath))
    const cached = yield* fromResult(cachedRows(cache, network, cachePath))

    // overlay: cached rows inside the shipped range must agree; the rest must continue it
    const byEpoch = new Map(shipped.map((r) => [r.epoch, r] as const))
    const extra: Array<EpochRow> = []
    for (const r of cached) {
      const s = byEpoch.get(r.epoch)
      if (s === undefined) {
        extra.push(r)
      } else if (!sameRow(s, r)) {
        return yield* new EpochIndexInvalid({
          source: `${cachePath} [${network}]`,
          detail: `the cached row of epoch ${r.epoch} disagrees with the shipped epoch data: delete that entry (or the file)`
        })
      }
    }
    if (extra.length > 0 && shipped.length > 0 && extra[0]!.epoch < shipped[0]!.epoch) {
      return yield* new EpochIndexInvalid({
        source: `${cachePath} [${network}]`,
        detail: `epoch ${extra[0]!.epoch} lies before the shipped range ${describeRange(shipped)}: delete that entry`
      })
    }
    yield* fromResult(verifyRows(extra, { source: `${cachePath} [${network}]`, previous: shipped.at(-1), epochStartSlot: slotCheck }))

    let rows: ReadonlyArray<EpochRow> = [...shipped, ...extra]
    let derived: ReadonlyArray<EpochRow> = extra
    const lock = yield* Semaphore.make(1)

    const find = (epoch: number): EpochRow | undefined => {
      const first = rows[0]
      if (first === undefined) return undefined
      const r = rows[epoch - first.epoch]
      return r !== undefined && r.epoch === epoch ? r : undefined
    }
    const notIndexed = (epoch: number) => new EpochNotIndexed({ network, epoch, known: describeRange(rows) })

    const boundary = (epoch: number) =>
      Effect.suspend(() => {
        const r = find(epoch)
        return r === undefined ? Effect.fail(notIndexed(epoch)) : Effect.succeed(r)
      })

    const extend = (input: ReadonlyArray<EpochRow>) =>
      lock.withPermit(
        Effect.gen(function*() {
          const source = `extend(${network})`
          const sorted = [...input].sort((a, b) => a.epoch - b.epoch)
          const fresh: Array<EpochRow> = []
          for (const r of sorted) {
            const known = find(r.epoch)
            if (known !== undefined) {
              if (!sameRow(known, r)) {
                return yield* new EpochIndexInvalid({ source, detail: `epoch ${r.epoch} is already indexed with different data` })
              }
            } else {
              fresh.push(r)
            }
          }
          if (fresh.length === 0) return
          const last = rows.at(-1)
          if (last !== undefined && fresh[0]!.epoch !== last.epoch + 1) {
            return yield* new EpochIndexInvalid({
              source,
              detail: `epoch ${fresh[0]!.epoch} does not follow the last indexed epoch ${last.epoch}: rows must extend the index contiguously`
            })
          }
          yield* fromResult(verifyRows(fresh, { source, previous: last, epochStartSlot: slotCheck }))
          const nextDerived = [...derived, ...fresh]
          // re-read the file so sections of other networks written meanwhile are kept
          const currentText = yield* readText(cachePath)
          const current = currentText === undefined ? emptyCache() : yield* fromResult(parseCache(currentText, cachePath))
          yield* writeFileAtomic(cachePath, renderCache(withNetworkRows(current, network, nextDerived)))
          derived = nextDerived
          rows = [...rows, ...fresh]
        })
      )

    return {
      network,
      boundary,
      blockCount: (epoch: number) => Effect.map(boundary(epoch), (r) => r.blocks),
      lookup: (epoch: number) => Effect.sync(() => find(epoch)),
      knownRange: () =>
        Effect.sync(() => (rows.length === 0 ? undefined : { first: rows[0]!.epoch, last: rows[rows.length - 1]!.epoch })),
      extend
    } satisfies EpochIndexShape
  })

export class EpochIndex extends Context.Service<EpochIndex, EpochIndexShape>()("hecate/EpochIndex") {
  /** `EpochIndex.layer({ network, dataDir, cachePath })`: loads and verifies at layer build time. */
  static readonly layer = (options: EpochIndexOptions): Layer.Layer<EpochIndex, EpochIndexInvalid> =>
    Layer.effect(EpochIndex, Effect.map(make(options), (shape) => EpochIndex.of(shape)))
}
