/**
 * Plain functions for epoch data: parse the shipped CSVs (mixed LF/CRLF line endings), verify the
 * invariants (docs/backfill.md, epoch index), and read/write the per-network cache file. No Effect services here;
 * failures are `Result` values carrying an `EpochIndexInvalid` that names the source and the row.
 */
import { Result } from "effect"
import { EpochIndexInvalid } from "./errors.js"

/** One epoch's first and last block. */
export interface EpochBoundary {
  readonly epoch: number
  readonly startHeight: number
  readonly startSlot: number
  readonly startHash: string
  readonly endHeight: number
  readonly endSlot: number
  readonly endHash: string
}

/** A boundary plus its block count (always endHeight − startHeight + 1 once verified). */
export interface EpochRow extends EpochBoundary {
  readonly blocks: number
}

// ------------------------------------------------------------------------------- mainnet slots --

export const FIRST_SHELLEY_EPOCH = 208
const SHELLEY_START_SLOT = 4_492_800
const SHELLEY_EPOCH_SLOTS = 432_000

/** Mainnet: the first slot of Shelley-onward epoch e (valid for e ≥ 208). */
export const mainnetEpochStartSlot = (epoch: number): number =>
  SHELLEY_START_SLOT + (epoch - FIRST_SHELLEY_EPOCH) * SHELLEY_EPOCH_SLOTS

// ------------------------------------------------------------------------------------- parsing --

const HASH = /^[0-9a-f]{64}$/
const INT = /^\d+$/

const invalid = (source: string, detail: string) => Result.fail(new EpochIndexInvalid({ source, detail }))

/** Splits CSV text into [lineNumber, cells] rows; strips `\r`, skips blank lines and the header. */
const csvRows = (text: string): Array<readonly [number, ReadonlyArray<string>]> =>
  text
    .split("\n")
    .map((line, i) => [i + 1, line.replace(/\r$/, "").trim()] as const)
    .filter(([, line]) => line !== "")
    .map(([n, line]) => [n, line.split(",").map((c) => c.trim())] as const)

const BOUNDARY_HEADER = "number,start_height,start_slot,start_hash,end_height,end_slot,end_hash"
const BLOCKS_HEADER = "epoch,blocks"

/** Parses `epoch_boundaries.csv`. Checks the header, column count, integers and 64-hex hashes. */
export const parseBoundariesCsv = (text: string, source = "epoch_boundaries.csv"): Result.Result<Array<EpochBoundary>, EpochIndexInvalid> => {
  const rows = csvRows(text)
  const header = rows.shift()
  if (header === undefined || header[1].join(",") !== BOUNDARY_HEADER) {
    return invalid(source, `line 1: expected the header "${BOUNDARY_HEADER}"`)
  }
  const out: Array<EpochBoundary> = []
  for (const [line, cells] of rows) {
    if (cells.length !== 7) return invalid(source, `line ${line}: expected 7 columns, found ${cells.length}`)
    const [number, startHeight, startSlot, startHash, endHeight, endSlot, endHash] = cells as [string, string, string, string, string, string, string]
    for (const [name, v] of [["number", number], ["start_height", startHeight], ["start_slot", startSlot], ["end_height", endHeight], ["end_slot", endSlot]] as const) {
      if (!INT.test(v)) return invalid(source, `line ${line}: ${name} "${v}" is not a non-negative integer`)
    }
    for (const [name, v] of [["start_hash", startHash], ["end_hash", endHash]] as const) {
      if (!HASH.test(v)) return invalid(source, `line ${line} (epoch ${number}): ${name} "${v}" is not a 64-hex block hash`)
    }
    out.push({
      epoch: Number(number),
      startHeight: Number(startHeight),
      startSlot: Number(startSlot),
      startHash,
      endHeight: Number(endHeight),
      endSlot: Number(endSlot),
      endHash
    })
  }
  return Result.succeed(out)
}

/** Parses `epoch_blocks.csv` into epoch → block count. */
export const parseBlocksCsv = (text: string, source = "epoch_blocks.csv"): Result.Result<Map<number, number>, EpochIndexInvalid> => {
  const rows = csvRows(text)
  const header = rows.shift()
  if (header === undefined || header[1].join(",") !== BLOCKS_HEADER) {
    return invalid(source, `line 1: expected the header "${BLOCKS_HEADER}"`)
  }
  const out = new Map<number, number>()
  for (const [line, cells] of rows) {
    if (cells.length !== 2 || !INT.test(cells[0]!) || !INT.test(cells[1]!)) {
      return invalid(source, `line ${line}: expected "epoch,blocks" as two integers, found "${cells.join(",")}"`)
    }
    const epoch = Number(cells[0])
    if (out.has(epoch)) return invalid(source, `line ${line}: epoch ${epoch} appears twice`)
    out.set(epoch, Number(cells[1]))
  }
  return Result.succeed(out)
}

/** Joins boundaries with counts; both files must cover exactly the same epochs. */
export const joinRows = (
  boundaries: ReadonlyArray<EpochBoundary>,
  blocks: ReadonlyMap<number, number>,
  source = "epoch_boundaries.csv + epoch_blocks.csv"
): Result.Result<Array<EpochRow>, EpochIndexInvalid> => {
  const out: Array<EpochRow> = []
  for (const b of boundaries) {
    const count = blocks.get(b.epoch)
    if (count === undefined) return invalid(source, `epoch ${b.epoch} has a boundary row but no block count`)
    out.push({ ...b, blocks: count })
  }
  const seen = new Set(boundaries.map((b) => b.epoch))
  for (const epoch of blocks.keys()) {
    if (!seen.has(epoch)) return invalid(source, `epoch ${epoch} has a block count but no boundary row`)
  }
  return Result.succeed(out)
}

export interface VerifyOptions {
  /** Where the rows come from, for the error message. */
  readonly source: string
  /** The row just before `rows[0]` (already trusted), for the contiguity check. */
  readonly previous?: EpochRow | undefined
  /** When given (mainnet), also check each epoch e ≥ 208 lies within its slot range. */
  readonly epochStartSlot?: ((epoch: number) => number) | undefined
}

/**
 * Verifies rows in order: consecutive epoch numbers, blocks == end_height − start_height + 1,
 * start_height(e) == end_height(e−1) + 1, start_slot(e) > end_slot(e−1), start ≤ end, and (with
 * `epochStartSlot`) start_slot ≥ epochStartSlot(e), end_slot < epochStartSlot(e+1). The first
 * failure names the epoch and the broken rule.
 */
export const verifyRows = (rows: ReadonlyArray<EpochRow>, options: VerifyOptions): Result.Result<void, EpochIndexInvalid> => {
  const { source } = options
  let prev = options.previous
  for (const r of rows) {
    const at = `epoch ${r.epoch}`
    if (!Number.isSafeInteger(r.epoch) || r.epoch < 0) return invalid(source, `${at}: not a valid epoch number`)
    if (!HASH.test(r.startHash) || !HASH.test(r.endHash)) return invalid(source, `${at}: start_hash/end_hash must be 64-hex block hashes`)
    if (r.endHeight < r.startHeight) return invalid(source, `${at}: end_height ${r.endHeight} < start_height ${r.startHeight}`)
    if (r.endSlot < r.startSlot) return invalid(source, `${at}: end_slot ${r.endSlot} < start_slot ${r.startSlot}`)
    const expected = r.endHeight - r.startHeight + 1
    if (r.blocks !== expected) {
      return invalid(source, `${at}: blocks ${r.blocks} ≠ end_height − start_height + 1 = ${r.endHeight} − ${r.startHeight} + 1 = ${expected}`)
    }
    if (prev !== undefined) {
      if (r.epoch !== prev.epoch + 1) return invalid(source, `${at} follows epoch ${prev.epoch}: epochs must be consecutive`)
      if (r.startHeight !== prev.endHeight + 1) {
        return invalid(source, `${at}: start_height ${r.startHeight} ≠ end_height(${prev.epoch}) + 1 = ${prev.endHeight + 1}`)
      }
      if (r.startSlot <= prev.endSlot) {
        return invalid(source, `${at}: start_slot ${r.startSlot} is not after end_slot(${prev.epoch}) = ${prev.endSlot}`)
      }
    }
    if (options.epochStartSlot !== undefined && r.epoch >= FIRST_SHELLEY_EPOCH) {
      const lo = options.epochStartSlot(r.epoch)
      const hi = options.epochStartSlot(r.epoch + 1)
      if (r.startSlot < lo || r.endSlot >= hi) {
        return invalid(source, `${at}: slots ${r.startSlot}..${r.endSlot} are not inside the epoch's slot range ${lo}..${hi - 1}`)
      }
    }
    prev = r
  }
  return Result.succeed(undefined)
}

/** Two rows describe the same epoch identically. */
export const sameRow = (a: EpochRow, b: EpochRow): boolean =>
  a.epoch === b.epoch && a.blocks === b.blocks && a.startHeight === b.startHeight && a.startSlot === b.startSlot &&
  a.startHash === b.startHash && a.endHeight === b.endHeight && a.endSlot === b.endSlot && a.endHash === b.endHash

// --------------------------------------------------------------------------------------- cache --

/**
 * The cache file (HECATE_EPOCH_CACHE): one JSON object keyed by network id, each value keyed by the
 * epoch as a string with the Python Hecate's per-epoch shape:
 *
 *   { "format": "hecate-epoch-cache/1",
 *     "networks": { "mainnet": { "644": { "boundary": { "number", "start_slot", "end_slot",
 *        "start_height", "end_height", "start_hash", "end_hash" }, "blocks": 21000 } } } }
 *
 * A Python Hecate cache, keyed by epoch at the top level, is read as mainnet (that tool was
 * mainnet-only). Every cached row is verified on load: a corrupt cache must not steer a backfill.
 */
export const CACHE_FORMAT = "hecate-epoch-cache/1"

interface CachedEpoch {
  readonly boundary: {
    readonly number: number
    readonly start_slot: number
    readonly end_slot: number
    readonly start_height: number
    readonly end_height: number
    readonly start_hash: string
    readonly end_hash: string
  }
  readonly blocks: number
}

export type CacheFile = { readonly format: string; readonly networks: Record<string, Record<string, CachedEpoch>> }

export const emptyCache = (): CacheFile => ({ format: CACHE_FORMAT, networks: {} })

const toCached = (r: EpochRow): CachedEpoch => ({
  boundary: {
    number: r.epoch,
    start_slot: r.startSlot,
    end_slot: r.endSlot,
    start_height: r.startHeight,
    end_height: r.endHeight,
    start_hash: r.startHash,
    end_hash: r.endHash
  },
  blocks: r.blocks
})

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const fromCached = (key: string, value: unknown, source: string): Result.Result<EpochRow, EpochIndexInvalid> => {
  if (!isObject(value) || !isObject(value["boundary"]) || typeof value["blocks"] !== "number") {
    return invalid(source, `entry "${key}": expected {"boundary": {...}, "blocks": n}`)
  }
  const b = value["boundary"]
  const num = (k: string) => (typeof b[k] === "number" && Number.isSafeInteger(b[k]) ? (b[k] as number) : NaN)
  const row: EpochRow = {
    epoch: num("number"),
    startSlot: num("start_slot"),
    endSlot: num("end_slot"),
    startHeight: num("start_height"),
    endHeight: num("end_height"),
    startHash: String(b["start_hash"]),
    endHash: String(b["end_hash"]),
    blocks: value["blocks"]
  }
  if ([row.epoch, row.startSlot, row.endSlot, row.startHeight, row.endHeight].some(Number.isNaN)) {
    return invalid(source, `entry "${key}": boundary fields must be integers`)
  }
  if (String(row.epoch) !== key) return invalid(source, `entry "${key}" holds epoch ${row.epoch}`)
  return Result.succeed(row)
}

/** Parses the cache text (either format). An empty text is an empty cache. */
export const parseCache = (text: string, source: string): Result.Result<CacheFile, EpochIndexInvalid> => {
  if (text.trim() === "") return Result.succeed(emptyCache())
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return invalid(source, `not valid JSON (${(error as Error).message}): fix or delete the file, it is rebuilt from the chain`)
  }
  if (!isObject(json)) return invalid(source, "expected a JSON object")
  if (json["format"] === CACHE_FORMAT && isObject(json["networks"])) {
    return Result.succeed(json as unknown as CacheFile)
  }
  const keys = Object.keys(json)
  if (keys.every((k) => /^\d+$/.test(k))) {
    // the Python Hecate's mainnet-only layout
    return Result.succeed({ format: CACHE_FORMAT, networks: { mainnet: json as Record<string, CachedEpoch> } })
  }
  return invalid(source, `unknown layout: expected {"format": "${CACHE_FORMAT}", "networks": {...}}`)
}

/** The verified-shape rows of one network in the cache, sorted by epoch. */
export const cachedRows = (cache: CacheFile, network: string, source: string): Result.Result<Array<EpochRow>, EpochIndexInvalid> => {
  const entries = cache.networks[network] ?? {}
  const rows: Array<EpochRow> = []
  for (const [key, value] of Object.entries(entries)) {
    const r = fromCached(key, value, `${source} [${network}]`)
    if (Result.isFailure(r)) return Result.fail(r.failure)
    rows.push(r.success)
  }
  return Result.succeed(rows.sort((a, b) => a.epoch - b.epoch))
}

/** A new cache with `network`'s entries replaced by `rows`; the other networks are kept. */
export const withNetworkRows = (cache: CacheFile, network: string, rows: ReadonlyArray<EpochRow>): CacheFile => {
  const entries: Record<string, CachedEpoch> = {}
  for (const r of [...rows].sort((a, b) => a.epoch - b.epoch)) entries[String(r.epoch)] = toCached(r)
  return { format: CACHE_FORMAT, networks: { ...cache.networks, [network]: entries } }
}

/** Stable text: networks and epochs in ascending order, 2-space indent, trailing newline. */
export const renderCache = (cache: CacheFile): string => {
  const networks: Record<string, Record<string, CachedEpoch>> = {}
  for (const name of Object.keys(cache.networks).sort()) {
    const entries = cache.networks[name]!
    const sorted: Record<string, CachedEpoch> = {}
    // integer-like keys are already enumerated in ascending numeric order by JS
    for (const k of Object.keys(entries)) sorted[k] = entries[k]!
    networks[name] = sorted
  }
  return JSON.stringify({ format: CACHE_FORMAT, networks }, null, 2) + "\n"
}
