// The refresh job against the simulator: derived rows equal the simulator's epochs, only final
// epochs (next epoch's first block k deep) are recorded, --until-epoch cannot force an open
// epoch, a second run changes nothing, and a mainnet-shaped chain extends the CSVs byte-exactly.
import { readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EpochIndex } from "../../src/backfill/epoch-index.js"
import { lastLineEnding } from "../../src/refresh/csv.js"
import { describeRefresh, refreshEpochs, refreshEpochsOrFail } from "../../src/refresh/refresh.js"
import {
  expectedLastFinal,
  expectedRow,
  refreshLayers,
  SHORT_EPOCHS,
  shippedText,
  simulator,
  tempDir,
  textOf,
  truncatedCsvCopy
} from "./support.js"

const K = 20

describe("refresh (custom network, short epochs)", () => {
  it.live("derives every final epoch from genesis exactly as the simulator has them; a second run changes nothing", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(SHORT_EPOCHS)
      const dir = yield* tempDir()
      const cachePath = join(dir, "cache.json")
      const lastFinal = expectedLastFinal(sim, K)
      expect(lastFinal).toBeGreaterThanOrEqual(4)
      expect(sim.chain.currentEpoch()).toBeGreaterThan(lastFinal)

      const first = yield* refreshEpochs().pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(first.network).toMatch(/^magic-42-/)
      expect(first.knownBefore).toBeUndefined()
      expect(first.knownAfter).toBe(lastFinal)
      expect(first.derived.map((r) => r.epoch)).toEqual(Array.from({ length: lastFinal + 1 }, (_, e) => e))
      expect(first.derived).toEqual(first.derived.map((r) => expectedRow(sim, r.epoch)))
      expect(first.securityParameter).toBe(K)
      expect(first.refused).toBeUndefined()
      expect(describeRefresh(first)).toContain(`recorded final epochs 0–${lastFinal}`)

      const before = yield* textOf(cachePath)
      const mtime = (yield* Effect.promise(() => stat(cachePath))).mtimeMs
      const second = yield* refreshEpochs().pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(second.derived).toEqual([])
      expect(second.knownAfter).toBe(lastFinal)
      expect(describeRefresh(second)).toContain("nothing new")
      expect(yield* textOf(cachePath)).toBe(before)
      expect((yield* Effect.promise(() => stat(cachePath))).mtimeMs).toBe(mtime)

      // the cache holds the same rows for a fresh index
      const reloaded = yield* Effect.gen(function*() {
        const index = yield* EpochIndex
        return yield* index.boundary(lastFinal)
      }).pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(reloaded).toEqual(expectedRow(sim, lastFinal))
    }))

  it.live("refuses the epoch before the tip's until its end is k blocks deep, then records it", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(SHORT_EPOCHS)
      const dir = yield* tempDir()
      const cachePath = join(dir, "cache.json")
      // move the tip 2 blocks into a new epoch E: E − 1 has ended but its end is not immutable
      const open = sim.chain.currentEpoch()
      while (sim.chain.currentEpoch() === open) sim.forge(1)
      sim.forge(1)
      const tipEpoch = sim.chain.currentEpoch()
      const previous = tipEpoch - 1
      expect(sim.chain.epochInfo(tipEpoch)!.blocks).toBe(2)

      const run = yield* refreshEpochs().pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(run.knownAfter).toBe(previous - 1) // E − 1 is not recorded, as the old flow recorded 643
      expect(run.refused).toBeUndefined() // not asked for: just not yet

      const forced = yield* refreshEpochsOrFail({ untilEpoch: previous }).pipe(
        Effect.provide(refreshLayers(sim, cachePath)),
        Effect.flip
      )
      expect(forced._tag).toBe("EpochNotFinal")
      expect(forced).toMatchObject({ requested: previous, epoch: previous, lastFinal: previous - 1, tipEpoch, exitCode: 17 })
      expect(forced.message).toContain(`epoch ${previous} is not final`)
      expect(forced.message).toContain(`fewer than k = ${K} blocks deep`)
      const cached = JSON.parse(yield* textOf(cachePath)) as { networks: Record<string, Record<string, unknown>> }
      expect(Object.keys(Object.values(cached.networks)[0]!)).not.toContain(String(previous))

      // k more blocks: E − 1 is final now and is recorded as the simulator has it
      sim.forge(K)
      const later = yield* refreshEpochs({ untilEpoch: previous }).pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(later.refused).toBeUndefined()
      expect(later.derived).toEqual([expectedRow(sim, previous)])
    }))

  it.live("refuses the tip's own epoch even when --until-epoch names it, recording the final ones", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(SHORT_EPOCHS)
      const dir = yield* tempDir()
      const cachePath = join(dir, "cache.json")
      // the epoch before the tip's is final, so the first epoch refused is the tip's own
      while (expectedLastFinal(sim, K) < sim.chain.currentEpoch() - 1) sim.forge(1)
      const tipEpoch = sim.chain.currentEpoch()
      const result = yield* refreshEpochs({ untilEpoch: tipEpoch }).pipe(Effect.provide(refreshLayers(sim, cachePath)))
      const lastFinal = expectedLastFinal(sim, K)
      expect(result.knownAfter).toBe(lastFinal)
      assert.isDefined(result.refused)
      expect(result.refused).toMatchObject({ requested: tipEpoch, epoch: lastFinal + 1, tipEpoch })
      expect(lastFinal + 1).toBe(tipEpoch)
      expect(result.refused!.message).toContain(`epoch ${tipEpoch} is not final: the chain's tip`)
      expect(result.refused!.message).toContain(`is still in epoch ${tipEpoch}`)
      expect(result.derived.every((r) => r.epoch <= lastFinal)).toBe(true)
      // a range entirely inside the final epochs is not refused
      const bounded = yield* refreshEpochs({ untilEpoch: lastFinal }).pipe(Effect.provide(refreshLayers(sim, cachePath)))
      expect(bounded.refused).toBeUndefined()
      expect(bounded.derived).toEqual([])
    }))
})

describe("refresh (mainnet-shaped)", () => {
  it.live("extends a data dir that ends at 641 with 642..643, byte-identical to the shipped CSVs (CRLF tail)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* truncatedCsvCopy(dir, 641)
      const sim = yield* simulator({ network: "mainnet-shaped", epochs: { from: 642, to: 643 }, nextEpochBlocks: 2200, meanBlockBytes: 300 })
      const cachePath = join(dir, "epoch_cache.json")
      const result = yield* refreshEpochs({ csvDir: dir, inFlight: 200 }).pipe(Effect.provide(refreshLayers(sim, cachePath, dir)))
      expect(result.network).toBe("mainnet")
      expect(result.knownBefore).toBe(641)
      expect(result.derived.map((r) => r.epoch)).toEqual([642, 643])
      expect(result.derived[1]).toMatchObject({ endSlot: 192844727, blocks: 21224 })
      expect(result.csv).toMatchObject({ epochs: [642, 643], lineEnding: "CRLF" })
      for (const name of ["epoch_boundaries.csv", "epoch_blocks.csv"]) {
        const text = yield* textOf(join(dir, name))
        expect(text).toBe(yield* shippedText(name))
      }
      // 644 has only 2200 blocks past its first: with k = 2160 it is the tip's epoch, never recorded
      const again = yield* refreshEpochs({ csvDir: dir }).pipe(Effect.provide(refreshLayers(sim, cachePath, dir)))
      expect(again.derived).toEqual([])
      expect(again.csv?.epochs).toEqual([])
      expect(yield* textOf(join(dir, "epoch_blocks.csv"))).toBe(yield* shippedText("epoch_blocks.csv"))
      expect(yield* Effect.promise(() => readFile(cachePath, "utf8"))).toContain('"643"')
    }), 120_000)
})

describe("CSV line endings", () => {
  it("appends in the ending of the last line", () => {
    expect(lastLineEnding("a\nb\r\n")).toBe("\r\n")
    expect(lastLineEnding("a\r\nb\n")).toBe("\n")
    expect(lastLineEnding("a\r\nb")).toBe("\r\n")
    expect(lastLineEnding("a")).toBe("\n")
  })
})
