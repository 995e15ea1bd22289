/**
 * Appending derived rows to the shipped mainnet CSVs (`epoch_boundaries.csv`, `epoch_blocks.csv`).
 *
 * Line endings: the shipped files are mixed (LF up to epoch 557, CRLF from 558, written by the old
 * periodic flow). Appended rows use **the ending of the file's last line** (CRLF for the shipped
 * files today), so the appended tail is uniform with the rows before it, and a file someone
 * normalised to LF stays LF. A file without a final newline gets one (in that ending) first.
 *
 * Only rows past the file's last epoch are appended; the rows must continue it contiguously. Both
 * files are rendered first and then renamed into place one after the other (temp file + rename).
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Result } from "effect"
import { type EpochRow, parseBlocksCsv, parseBoundariesCsv } from "../backfill/epoch-index-data.js"
import { writeFileAtomic } from "../backfill/epoch-index.js"
import { DataFilesError } from "./errors.js"

export const BOUNDARIES_FILE = "epoch_boundaries.csv"
export const BLOCKS_FILE = "epoch_blocks.csv"

export type LineEnding = "\n" | "\r\n"

/** The ending of the text's last line ("\n" when it has none). */
export const lastLineEnding = (text: string): LineEnding => {
  // the last "\n" ends the last line (or, without a final newline, the line before it)
  const i = text.endsWith("\n") ? text.length - 1 : text.lastIndexOf("\n")
  return i > 0 && text[i - 1] === "\r" ? "\r\n" : "\n"
}

/** `text` plus one line per item, each ended with the file's last-line ending. */
export const appendLines = (text: string, lines: ReadonlyArray<string>): string => {
  if (lines.length === 0) return text
  const eol = lastLineEnding(text)
  const base = text === "" || text.endsWith("\n") ? text : text + eol
  return base + lines.map((l) => l + eol).join("")
}

export const boundaryLine = (r: EpochRow): string =>
  `${r.epoch},${r.startHeight},${r.startSlot},${r.startHash},${r.endHeight},${r.endSlot},${r.endHash}`

export const blocksLine = (r: EpochRow): string => `${r.epoch},${r.blocks}`

export interface CsvAppendResult {
  /** epochs appended (the same to both files) */
  readonly epochs: ReadonlyArray<number>
  /** files rewritten */
  readonly files: ReadonlyArray<string>
  /** the line ending used, "LF" or "CRLF" */
  readonly lineEnding: "LF" | "CRLF"
}

const read = (path: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) => new DataFilesError({ path, detail: `cannot read it (${(e as Error).message})` })
  })

/** The last epoch of both CSVs (they must agree). */
export const csvLastEpoch = (dataDir: string): Effect.Effect<number | undefined, DataFilesError> =>
  Effect.gen(function*() {
    const bPath = join(dataDir, BOUNDARIES_FILE)
    const cPath = join(dataDir, BLOCKS_FILE)
    const b = parseBoundariesCsv(yield* read(bPath), bPath)
    if (Result.isFailure(b)) return yield* new DataFilesError({ path: bPath, detail: b.failure.message })
    const c = parseBlocksCsv(yield* read(cPath), cPath)
    if (Result.isFailure(c)) return yield* new DataFilesError({ path: cPath, detail: c.failure.message })
    const lastB = b.success.reduce((m, r) => Math.max(m, r.epoch), -1)
    const lastC = [...c.success.keys()].reduce((m, e) => Math.max(m, e), -1)
    if (lastB !== lastC) {
      return yield* new DataFilesError({ path: dataDir, detail: `${BOUNDARIES_FILE} ends at epoch ${lastB} but ${BLOCKS_FILE} at ${lastC}: repair them` })
    }
    return lastB < 0 ? undefined : lastB
  })

/**
 * Appends the rows past the CSVs' last epoch (rows must be sorted and contiguous with it). Rows
 * at or below it are skipped (they are already in the files and the index verified them equal).
 */
export const appendRowsToCsvs = (dataDir: string, rows: ReadonlyArray<EpochRow>): Effect.Effect<CsvAppendResult, DataFilesError> =>
  Effect.gen(function*() {
    const bPath = join(dataDir, BOUNDARIES_FILE)
    const cPath = join(dataDir, BLOCKS_FILE)
    const last = yield* csvLastEpoch(dataDir)
    const fresh = rows.filter((r) => last === undefined || r.epoch > last)
    const bText = yield* read(bPath)
    const eol = lastLineEnding(bText) === "\r\n" ? "CRLF" : "LF"
    if (fresh.length === 0) return { epochs: [], files: [], lineEnding: eol }
    if (last !== undefined && fresh[0]!.epoch !== last + 1) {
      return yield* new DataFilesError({ path: dataDir, detail: `the CSVs end at epoch ${last}, the rows to append start at ${fresh[0]!.epoch}` })
    }
    const cText = yield* read(cPath)
    const nextB = appendLines(bText, fresh.map(boundaryLine))
    const nextC = appendLines(cText, fresh.map(blocksLine))
    const write = (path: string, text: string) =>
      writeFileAtomic(path, text).pipe(Effect.mapError((e) => new DataFilesError({ path, detail: e.detail })))
    yield* write(bPath, nextB)
    yield* write(cPath, nextC)
    return { epochs: fresh.map((r) => r.epoch), files: [bPath, cPath], lineEnding: eol }
  })
