/**
 * Chain coordinates as Ogmios v6/v7 writes them: a Point names a block by slot and header hash,
 * a Tip adds the block height, and "origin" is the point before the first block.
 */
import { Schema } from "effect"

export const Origin = Schema.Literal("origin")
export type Origin = typeof Origin.Type

export const BlockHash = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))

export const Point = Schema.Struct({ slot: Schema.Number, id: Schema.String })
export type Point = typeof Point.Type

export const PointOrOrigin = Schema.Union([Point, Origin])
export type PointOrOrigin = typeof PointOrOrigin.Type

export const Tip = Schema.Struct({ slot: Schema.Number, id: Schema.String, height: Schema.Number })
export type Tip = typeof Tip.Type

export const TipOrOrigin = Schema.Union([Tip, Origin])
export type TipOrOrigin = typeof TipOrOrigin.Type

export const isOrigin = (p: PointOrOrigin | TipOrOrigin): p is Origin => p === "origin"

export const samePoint = (a: PointOrOrigin, b: PointOrOrigin): boolean =>
  a === "origin" || b === "origin" ? a === b : a.slot === b.slot && a.id === b.id

export const formatPoint = (p: PointOrOrigin): string => (p === "origin" ? "origin" : `${p.slot}.${p.id}`)

/** Parses the `slot.hash` form used on the command line (and "origin"). */
export const parsePoint = (text: string): PointOrOrigin | undefined => {
  if (text === "origin") return "origin"
  const m = /^(\d+)\.([0-9a-f]{64})$/.exec(text)
  return m ? { slot: Number(m[1]), id: m[2]! } : undefined
}
