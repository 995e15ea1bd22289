/**
 * Mainnet facts the simulator reproduces: the era/protocol-version schedule per epoch, slot
 * arithmetic, and the real epoch boundary blocks from data/epoch_boundaries.csv.
 * Sources: shared/spec/ogmios-protocol.md §3 and §5, and the CSVs in data/.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { findPackageDataDir } from "../config/data-dir.js"
import { type EpochBoundary, parseBlocksCsv, parseBoundariesCsv } from "../backfill/epoch-index-data.js"
import type { EpochIndexInvalid } from "../backfill/errors.js"

export type PraosEra = "shelley" | "allegra" | "mary" | "alonzo" | "babbage" | "conway"
export type Era = "byron" | PraosEra

export const PRAOS_ERAS: ReadonlyArray<PraosEra> = ["shelley", "allegra", "mary", "alonzo", "babbage", "conway"]

/** TPraos eras carry a `nonce` in their block headers; babbage and later do not. */
export const hasNonce = (era: Era): boolean => era === "shelley" || era === "allegra" || era === "mary" || era === "alonzo"

export interface ProtocolVersion {
  readonly major: number
  readonly minor: number
}

/** Protocol version at the start of each Praos era (spec §5). */
export const ERA_PROTOCOL: Readonly<Record<PraosEra, ProtocolVersion>> = {
  shelley: { major: 2, minor: 0 },
  allegra: { major: 3, minor: 0 },
  mary: { major: 4, minor: 0 },
  alonzo: { major: 5, minor: 0 },
  babbage: { major: 7, minor: 0 },
  conway: { major: 9, minor: 0 }
}

/**
 * Mainnet schedule: (first epoch, era, protocol version). The era starts are from spec §5; the
 * intra-era bumps (alonzo 6, babbage 8 "Valentine", conway 10 "Plomin") are placed at epochs 298,
 * 394 and 537 from memory of mainnet history, not from a checked source.
 */
export const MAINNET_SCHEDULE: ReadonlyArray<{ readonly epoch: number; readonly era: PraosEra; readonly version: ProtocolVersion }> = [
  { epoch: 208, era: "shelley", version: { major: 2, minor: 0 } },
  { epoch: 236, era: "allegra", version: { major: 3, minor: 0 } },
  { epoch: 251, era: "mary", version: { major: 4, minor: 0 } },
  { epoch: 290, era: "alonzo", version: { major: 5, minor: 0 } },
  { epoch: 298, era: "alonzo", version: { major: 6, minor: 0 } },
  { epoch: 365, era: "babbage", version: { major: 7, minor: 0 } },
  { epoch: 394, era: "babbage", version: { major: 8, minor: 0 } },
  { epoch: 507, era: "conway", version: { major: 9, minor: 0 } },
  { epoch: 537, era: "conway", version: { major: 10, minor: 0 } }
]

export const MAINNET = {
  networkMagic: 764824073,
  systemStart: new Date("2017-09-23T21:44:51Z"),
  securityParameter: 2160,
  activeSlotsCoefficient: 0.05,
  byronEpochLength: 21_600,
  byronSlotLengthMs: 20_000,
  epochLength: 432_000,
  slotLengthMs: 1000,
  firstShelleyEpoch: 208,
  firstShelleySlot: 4_492_800,
  /** seconds from system start to the first Shelley slot */
  firstShelleyTime: 89_856_000,
  slotsPerKesPeriod: 129_600,
  maxKesEvolutions: 62
} as const

export const mainnetScheduleAt = (epoch: number) => {
  let found = MAINNET_SCHEDULE[0]!
  for (const row of MAINNET_SCHEDULE) if (row.epoch <= epoch) found = row
  return found
}

export const mainnetEpochOfSlot = (slot: number): number =>
  slot < MAINNET.firstShelleySlot
    ? Math.floor(slot / MAINNET.byronEpochLength)
    : MAINNET.firstShelleyEpoch + Math.floor((slot - MAINNET.firstShelleySlot) / MAINNET.epochLength)

export const mainnetEpochStartSlot = (epoch: number): number =>
  epoch < MAINNET.firstShelleyEpoch
    ? epoch * MAINNET.byronEpochLength
    : MAINNET.firstShelleySlot + (epoch - MAINNET.firstShelleyEpoch) * MAINNET.epochLength

/** Seconds since system start at the beginning of `slot`. */
export const mainnetRelativeSeconds = (slot: number): number =>
  slot < MAINNET.firstShelleySlot ? slot * 20 : MAINNET.firstShelleyTime + (slot - MAINNET.firstShelleySlot)

/** One row of data/epoch_boundaries.csv: the real first and last block of an epoch. */
export type { EpochBoundary }

/** The data/ folder: `explicit`, else the package's (src/config/data-dir.ts). */
export const findDataDir = (explicit?: string): string => {
  if (explicit !== undefined) return explicit
  const found = findPackageDataDir()
  if (found === undefined) {
    throw new Error(
      "cannot find the shipped mainnet data (data/epoch_boundaries.csv) in any folder above the program: " +
        "the package's data/ folder must stay beside its dist/ (a copy of dist/ alone has none)"
    )
  }
  return found
}

/** The shipped CSVs, parsed and checked by the epoch index's own parsers (a broken row names itself). */
const parsed = <A>(result: Result.Result<A, EpochIndexInvalid>): A => {
  if (Result.isFailure(result)) throw new Error(`simulator: ${result.failure.message}`)
  return result.success
}

const cache = new Map<string, { boundaries: Map<number, EpochBoundary>; blocks: Map<number, number> }>()

export const loadMainnetData = (dataDir?: string) => {
  const dir = findDataDir(dataDir)
  const hit = cache.get(dir)
  if (hit) return hit
  const rows = parsed(parseBoundariesCsv(readFileSync(join(dir, "epoch_boundaries.csv"), "utf8")))
  const boundaries = new Map(rows.map((row) => [row.epoch, row] as const))
  const blocks = parsed(parseBlocksCsv(readFileSync(join(dir, "epoch_blocks.csv"), "utf8")))
  const data = { boundaries, blocks }
  cache.set(dir, data)
  return data
}
