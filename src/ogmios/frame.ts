/**
 * Frame decoding: bigint-exact JSON parse, a cheap JSON-RPC envelope check, and for chain sync a
 * check of only the header fields the client relies on (direction, block type/id/ancestor/height/
 * slot, point, tip). Everything else in a block passes through untouched: no Schema walk over
 * 50 KB blocks on the hot path. Failures are returned as values (MalformedFrame), not thrown.
 */
import { RollBackward, RollForward, type ChainSyncEvent } from "../domain/chain-event.js"
import type { Block } from "../domain/block.js"
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { adoptBigIntSites, bigIntSites, parse } from "../json/lossless.js"
import { MalformedFrame } from "./errors.js"
import type { RpcErrorObject, RpcId } from "./protocol.js"

export interface ResultFrame {
  readonly jsonrpc: "2.0"
  readonly method?: string
  readonly result: unknown
  readonly id?: RpcId
}

export interface ErrorFrame {
  readonly jsonrpc: "2.0"
  readonly method?: string
  readonly error: RpcErrorObject
  readonly id?: RpcId
}

export type ResponseFrame = ResultFrame | ErrorFrame

export const isErrorFrame = (frame: ResponseFrame): frame is ErrorFrame => "error" in frame

export const malformed = (why: string, text: string) =>
  new MalformedFrame({ message: `malformed Ogmios frame: ${why}`, excerpt: text.length > 200 ? `${text.slice(0, 200)}…` : text })

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const isInt = (u: unknown): boolean => typeof u === "bigint" || Number.isInteger(u)

/** Parses one text frame into a JSON-RPC response envelope. */
export const decodeFrame = (text: string): ResponseFrame | MalformedFrame => {
  let value: unknown
  try {
    value = parse(text)
  } catch {
    return malformed("not JSON", text)
  }
  if (!isObj(value) || value["jsonrpc"] !== "2.0") return malformed("not a JSON-RPC 2.0 object", text)
  const method = value["method"]
  if (method !== undefined && typeof method !== "string") return malformed("method is not a string", text)
  if ("result" in value) {
    // a block's encoder looks its bigints up by the block (src/domain/wire-format.ts)
    if (bigIntSites(value) !== undefined) {
      const block = (value["result"] as { block?: unknown } | null | undefined)?.block
      if (typeof block === "object" && block !== null) adoptBigIntSites(value, block)
    }
    return value as unknown as ResultFrame
  }
  const error = value["error"]
  if (isObj(error) && typeof error["code"] === "number" && typeof error["message"] === "string") {
    return value as unknown as ErrorFrame
  }
  return malformed("neither result nor error", text)
}

const isPoint = (u: unknown): u is PointOrOrigin =>
  u === "origin" || (isObj(u) && typeof u["id"] === "string" && isInt(u["slot"]))

const isTip = (u: unknown): boolean => isObj(u) && typeof u["id"] === "string" && isInt(u["slot"]) && isInt(u["height"])

const isBlockHeader = (u: unknown): u is Block =>
  isObj(u) &&
  typeof u["type"] === "string" &&
  typeof u["era"] === "string" &&
  typeof u["id"] === "string" &&
  typeof u["ancestor"] === "string" &&
  isInt(u["height"]) &&
  // every block has a slot except Byron epoch-boundary blocks
  (isInt(u["slot"]) || (u["type"] === "ebb" && u["slot"] === undefined))

/** Checks a `nextBlock` result and turns it into a chain-sync event. */
export const decodeNextBlock = (result: unknown, text: string): ChainSyncEvent | MalformedFrame => {
  if (!isObj(result)) return malformed("nextBlock result is not an object", text)
  const tip = result["tip"]
  switch (result["direction"]) {
    case "forward": {
      const block = result["block"]
      if (!isBlockHeader(block)) return malformed("forward without a valid block header", text)
      if (!isTip(tip)) return malformed("forward without a valid tip", text)
      return RollForward(block, tip as TipOrOrigin)
    }
    case "backward": {
      const point = result["point"]
      if (!isPoint(point)) return malformed("backward without a valid point", text)
      if (tip !== "origin" && !isTip(tip)) return malformed("backward without a valid tip", text)
      return RollBackward(point, tip as TipOrOrigin)
    }
    default:
      return malformed("nextBlock result without a direction", text)
  }
}
