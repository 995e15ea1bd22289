import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Result } from "effect"
import {
  type EpochRow,
  parseBlocksCsv,
  parseBoundariesCsv,
  verifyRows
} from "../../src/backfill/epoch-index-data.js"
import { DEFAULT_DATA_DIR, EpochIndex, make } from "../../src/backfill/epoch-index.js"
import { EpochIndexInvalid } from "../../src/backfill/errors.js"

const tempDir = () => Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "hecate-epoch-index-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** A copy of the shipped data dir whose CSVs can be tampered with. */
const dataCopy = (edit?: (boundaries: string, blocks: string) => readonly [string, string]) =>
  Effect.gen(function*() {
    const dir = yield* tempDir()
    const b = yield* Effect.promise(() => readFile(join(DEFAULT_DATA_DIR, "epoch_boundaries.csv"), "utf8"))
    const c = yield* Effect.promise(() => readFile(join(DEFAULT_DATA_DIR, "epoch_blocks.csv"), "utf8"))
    const [b2, c2] = edit ? edit(b, c) : [b, c]
    yield* Effect.promise(() => writeFile(join(dir, "epoch_boundaries.csv"), b2))
    yield* Effect.promise(() => writeFile(join(dir, "epoch_blocks.csv"), c2))
    return dir
  })

const failureOf = <A>(exit: Exit.Exit<A, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (Exit.isFailure(exit)) {
    const f = exit.cause.reasons.find((r) => r._tag === "Fail")
    return f && "error" in f ? f.error : undefined
  }
  return undefined
}

/** Synthetic rows for a test network: contiguous, count = heights. */
const syntheticRows = (from: number, to: number, startHeight = 1000): Array<EpochRow> => {
  const rows: Array<EpochRow> = []
  let h = startHeight
  for (let e = from; e <= to; e++) {
    const blocks = 100 + e
    rows.push({
      epoch: e,
      startHeight: h,
      startSlot: e * 1000,
      startHash: e.toString(16).padStart(64, "a"),
      endHeight: h + blocks - 1,
      endSlot: e * 1000 + 990,
      endHash: e.toString(16).padStart(64, "b"),
      blocks
    })
    h += blocks
  }
  return rows
}

describe("epoch index: shipped mainnet data", () => {
  it.effect("loads 207..643 with the reference's known rows and totals (mixed LF/CRLF)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const index = yield* make({ network: "mainnet", cachePath: join(dir, "cache.json") })
      expect(yield* index.knownRange()).toEqual({ first: 207, last: 643 })
      const r208 = yield* index.boundary(208)
      expect(r208).toMatchObject({ epoch: 208, startHeight: 4490511, startSlot: 4492800, endHeight: 4512066, endSlot: 4924780, blocks: 21556 })
      expect(r208.endHash.startsWith("a0805ae8")).toBe(true)
      expect(yield* index.blockCount(207)).toBe(21544)
      const r643 = yield* index.boundary(643)
      expect(r643).toMatchObject({ endSlot: 192844727, blocks: 21224 })
      expect(r643.endHash.endsWith("4b4b")).toBe(true) // no stray \r
      let total = 0
      for (let e = 208; e <= 643; e++) total += yield* index.blockCount(e)
      expect(total).toBe(9_205_248)
      const missing = failureOf(yield* Effect.exit(index.boundary(644)))
      expect(missing).toMatchObject({ _tag: "EpochNotIndexed", epoch: 644, exitCode: 16 })
      expect(String((missing as Error).message)).toContain("207..643")
      expect(yield* index.lookup(206)).toBeUndefined()
    }))

  it.effect("fails loudly naming the row when blocks ≠ end − start + 1", () =>
    Effect.gen(function*() {
      const dataDir = yield* dataCopy((b, c) => [b, c.replace("\n300,", "\n300,1").replace(/\n300,1(\d+)/, "\n300,9$1")])
      const err = failureOf(yield* Effect.exit(make({ network: "mainnet", dataDir, cachePath: join(dataDir, "c.json") })))
      expect(err).toBeInstanceOf(EpochIndexInvalid)
      expect((err as Error).message).toMatch(/epoch 300: blocks \d+ ≠ end_height − start_height \+ 1/)
    }))

  it.effect("fails loudly when start_height(e) ≠ end_height(e−1) + 1", () =>
    Effect.gen(function*() {
      const dataDir = yield* dataCopy((b, c) => {
        const lines = b.split("\n")
        const i = lines.findIndex((l) => l.startsWith("400,"))
        const cells = lines[i]!.split(",")
        cells[1] = String(Number(cells[1]) + 1) // start_height + 1 …
        lines[i] = cells.join(",")
        const blocks = c.split("\n")
        const j = blocks.findIndex((l) => l.startsWith("400,"))
        blocks[j] = `400,${Number(blocks[j]!.split(",")[1]) - 1}${blocks[j]!.endsWith("\r") ? "\r" : ""}` // … and a consistent count
        return [lines.join("\n"), blocks.join("\n")]
      })
      const err = failureOf(yield* Effect.exit(make({ network: "mainnet", dataDir, cachePath: join(dataDir, "c.json") })))
      expect((err as Error).message).toMatch(/epoch 400: start_height \d+ ≠ end_height\(399\) \+ 1/)
    }))

  it("parsers name the line of a malformed row", () => {
    const b = parseBoundariesCsv("number,start_height,start_slot,start_hash,end_height,end_slot,end_hash\r\n1,2,3,zz,5,6,7\r\n", "x.csv")
    assert.isTrue(Result.isFailure(b))
    if (Result.isFailure(b)) expect(b.failure.message).toContain("x.csv: line 2 (epoch 1): start_hash")
    const c = parseBlocksCsv("epoch,blocks\n5,10\n5,11\n", "y.csv")
    if (Result.isFailure(c)) expect(c.failure.message).toContain("line 3: epoch 5 appears twice")
    else assert.fail("expected a failure")
    const ok = parseBlocksCsv("epoch,blocks\r\n5,10\r\n6,11\n", "y.csv")
    assert.isTrue(Result.isSuccess(ok))
    if (Result.isSuccess(ok)) expect([...ok.success]).toEqual([[5, 10], [6, 11]])
    assert.isTrue(Result.isFailure(verifyRows([...syntheticRows(1, 2), ...syntheticRows(4, 4, 5000)], { source: "s" })))
  })
})

describe("epoch index: per-network cache", () => {
  it.effect("a non-mainnet network starts empty, extends, persists under its own key, and reloads", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const cachePath = join(dir, "sub", "epoch_cache.json")
      const preprod = yield* make({ network: "preprod", cachePath })
      expect(yield* preprod.knownRange()).toBeUndefined()
      yield* preprod.extend(syntheticRows(4, 6))
      yield* preprod.extend(syntheticRows(4, 7)) // overlap identical + one new
      expect(yield* preprod.knownRange()).toEqual({ first: 4, last: 7 })
      expect(yield* preprod.blockCount(7)).toBe(107)

      const file = JSON.parse(yield* Effect.promise(() => readFile(cachePath, "utf8")))
      expect(file.format).toBe("hecate-epoch-cache/1")
      expect(Object.keys(file.networks)).toEqual(["preprod"])
      expect(Object.keys(file.networks.preprod)).toEqual(["4", "5", "6", "7"])
      expect(file.networks.preprod["5"].boundary).toMatchObject({ number: 5, start_height: 1104, end_height: 1208 })
      expect(yield* Effect.promise(() => readdir(join(dir, "sub")))).toEqual(["epoch_cache.json"]) // no temp files left

      const again = yield* make({ network: "preprod", cachePath })
      expect(yield* again.knownRange()).toEqual({ first: 4, last: 7 })
      expect(yield* again.boundary(6)).toEqual(syntheticRows(4, 6)[2])

      // another network sharing the file: its own section, and preprod's is kept on write
      const preview = yield* make({ network: "preview", cachePath })
      expect(yield* preview.knownRange()).toBeUndefined()
      yield* preview.extend(syntheticRows(100, 100))
      const both = JSON.parse(yield* Effect.promise(() => readFile(cachePath, "utf8")))
      expect(Object.keys(both.networks).sort()).toEqual(["preprod", "preview"])

      // mainnet ignores the other sections entirely (weak point 9)
      const mainnet = yield* make({ network: "mainnet", cachePath })
      expect(yield* mainnet.knownRange()).toEqual({ first: 207, last: 643 })
    }))

  it.effect("extend refuses gaps, conflicting rows and invariant breaks, and writes nothing then", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const cachePath = join(dir, "epoch_cache.json")
      const idx = yield* make({ network: "preprod", cachePath })
      yield* idx.extend(syntheticRows(1, 3))
      const before = yield* Effect.promise(() => readFile(cachePath, "utf8"))

      const gap = failureOf(yield* Effect.exit(idx.extend(syntheticRows(5, 5, 99999))))
      expect((gap as Error).message).toContain("does not follow the last indexed epoch 3")
      const conflict = failureOf(yield* Effect.exit(idx.extend([{ ...syntheticRows(2, 2)[0]!, endHash: "c".repeat(64) }])))
      expect((conflict as Error).message).toContain("epoch 2 is already indexed with different data")
      const next = syntheticRows(1, 4)[3]!
      const badCount = failureOf(yield* Effect.exit(idx.extend([{ ...next, blocks: next.blocks + 1 }])))
      expect((badCount as Error).message).toContain("epoch 4: blocks")
      const badHeight = failureOf(yield* Effect.exit(idx.extend([{ ...next, startHeight: next.startHeight + 1, blocks: next.blocks - 1 }])))
      expect((badHeight as Error).message).toContain("epoch 4: start_height")

      expect(yield* Effect.promise(() => readFile(cachePath, "utf8"))).toBe(before)
      expect(yield* idx.knownRange()).toEqual({ first: 1, last: 3 })
    }))

  it.effect("mainnet: extends past 643 from the last shipped row and checks the slot range", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const cachePath = join(dir, "epoch_cache.json")
      const idx = yield* make({ network: "mainnet", cachePath })
      const r643 = yield* idx.boundary(643)
      const start644 = 4_492_800 + (644 - 208) * 432_000
      const row644: EpochRow = {
        epoch: 644, startHeight: r643.endHeight + 1, startSlot: start644 + 20, startHash: "1".repeat(64),
        endHeight: r643.endHeight + 21000, endSlot: start644 + 431_950, endHash: "2".repeat(64), blocks: 21000
      }
      const outside = failureOf(yield* Effect.exit(idx.extend([{ ...row644, endSlot: start644 + 432_000 }])))
      expect((outside as Error).message).toContain("not inside the epoch's slot range")
      yield* idx.extend([row644])
      expect(yield* idx.knownRange()).toEqual({ first: 207, last: 644 })
      const reloaded = yield* make({ network: "mainnet", cachePath })
      expect(yield* reloaded.boundary(644)).toEqual(row644)
    }))

  it.effect("a cached row contradicting the shipped data, or a corrupt file, fails the load", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const cachePath = join(dir, "epoch_cache.json")
      // the reference's mainnet-only layout, with the infamous truncated epoch 643
      yield* Effect.promise(() => writeFile(cachePath, JSON.stringify({
        "643": {
          boundary: { number: 643, start_slot: 192412817, end_slot: 192772048, start_height: 13674535, end_height: 13692262,
            start_hash: "54c19128".padEnd(64, "0"), end_hash: "f".repeat(64) },
          blocks: 17728
        }
      })))
      const err = failureOf(yield* Effect.exit(make({ network: "mainnet", cachePath })))
      expect((err as Error).message).toContain("the cached row of epoch 643 disagrees with the shipped epoch data")
      // the same file is irrelevant to another network
      expect(yield* (yield* make({ network: "preprod", cachePath })).knownRange()).toBeUndefined()

      yield* Effect.promise(() => writeFile(cachePath, "{ not json"))
      const corrupt = failureOf(yield* Effect.exit(make({ network: "preprod", cachePath })))
      expect((corrupt as Error).message).toContain("not valid JSON")
    }))

  it.effect("is a Context.Service with a layer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const dataDir = yield* dataCopy()
      yield* Effect.promise(() => copyFile(join(dataDir, "epoch_blocks.csv"), join(dir, "unused.csv")))
      const range = yield* Effect.gen(function*() {
        const idx = yield* EpochIndex
        return yield* idx.knownRange()
      }).pipe(Effect.provide(EpochIndex.layer({ network: "mainnet", dataDir, cachePath: join(dir, "c.json") })))
      expect(range).toEqual({ first: 207, last: 643 })
    }))
})
