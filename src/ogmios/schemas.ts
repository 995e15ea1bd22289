/**
 * Effect Schemas for the typed results of the Ogmios queries and of findIntersection. Blocks are
 * deliberately not here: the chain-sync hot path checks only the header fields it relies on
 * (src/ogmios/frame.ts) and passes the rest through untouched.
 *
 * Integers that can exceed 2^53 on a real network (e.g. maxLovelaceSupply) arrive as bigint from
 * the lossless parser, so those fields accept number | bigint.
 */
import { Schema } from "effect"
import { PointOrOrigin, TipOrOrigin } from "../domain/point.js"

export { Point, PointOrOrigin, Tip, TipOrOrigin } from "../domain/point.js"

/** A JSON integer that may be beyond 2^53 (then a bigint). */
export const BigIntegral = Schema.Union([Schema.Int, Schema.BigInt])
export type BigIntegral = typeof BigIntegral.Type

/** Open object: unknown fields (v7 additions, unmodelled parts) are kept as they came. */
const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

export const FindIntersectionResult = Schema.Struct({ intersection: PointOrOrigin, tip: TipOrOrigin })
export type FindIntersectionResult = typeof FindIntersectionResult.Type

/** `queryNetwork/tip` and `queryLedgerState/tip` answer a point (no height). */
export const NetworkTip = PointOrOrigin
export type NetworkTip = typeof NetworkTip.Type

export const BlockHeight = Schema.Union([Schema.Int, Schema.Literal("origin")])
export type BlockHeight = typeof BlockHeight.Type

/** ISO-8601 UTC, e.g. "2017-09-23T21:44:51Z" (kept as text: it may carry sub-nanosecond digits). */
export const StartTime = Schema.String.check(Schema.isPattern(/^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/))
export type StartTime = typeof StartTime.Type

export const Epoch = Schema.Int
export type Epoch = typeof Epoch.Type

export const SlotLength = Schema.Struct({ milliseconds: Schema.Number })

/** `queryNetwork/genesisConfiguration` with era "shelley": what a sync tool needs, open for the rest. */
export const ShelleyGenesisConfiguration = Schema.StructWithRest(
  Schema.Struct({
    era: Schema.Literal("shelley"),
    startTime: StartTime,
    networkMagic: Schema.Int,
    network: Schema.String,
    activeSlotsCoefficient: Schema.String,
    securityParameter: Schema.Int,
    epochLength: Schema.Int,
    slotLength: SlotLength,
    slotsPerKesPeriod: Schema.optionalKey(Schema.Int),
    maxKesEvolutions: Schema.optionalKey(Schema.Int),
    updateQuorum: Schema.optionalKey(Schema.Int),
    maxLovelaceSupply: Schema.optionalKey(BigIntegral)
  }),
  Rest
)
export type ShelleyGenesisConfiguration = typeof ShelleyGenesisConfiguration.Type

/** Any other era's genesis (byron, alonzo, conway, dijkstra, ...): only `era` is checked. */
export const GenesisConfiguration = Schema.StructWithRest(Schema.Struct({ era: Schema.String }), Rest)
export type GenesisConfiguration = typeof GenesisConfiguration.Type

export const GenesisEra = Schema.Literals(["byron", "shelley", "alonzo", "conway", "dijkstra"])
export type GenesisEra = typeof GenesisEra.Type

export type GenesisConfigurationFor<E extends GenesisEra> = E extends "shelley" ? ShelleyGenesisConfiguration
  : GenesisConfiguration

export const EraBound = Schema.Struct({
  time: Schema.Struct({ seconds: Schema.Number }),
  slot: Schema.Int,
  epoch: Schema.Int
})
export type EraBound = typeof EraBound.Type

export const EraSummary = Schema.Struct({
  start: EraBound,
  end: Schema.optionalKey(EraBound),
  parameters: Schema.Struct({
    epochLength: Schema.Int,
    slotLength: SlotLength,
    safeZone: Schema.NullOr(Schema.Int)
  })
})
export type EraSummary = typeof EraSummary.Type

export const EraSummaries = Schema.Array(EraSummary)
export type EraSummaries = typeof EraSummaries.Type
