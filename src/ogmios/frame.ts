/**
 * Frame decoding: bigint-exact JSON parse, a cheap JSON-RPC envelope check, and for chain sync a
 * check of only the header fields the client relies on (direction, block type/id/ancestor/height/
 * slot, point, tip). Everything else in a block passes through untouched: no Schema walk over
 * 50 KB blocks on the hot path. Failures are returned as values (MalformedFrame), not thrown.
 */
import { RollBackward, RollForward, type ChainSyncEvent } from "../domain/chain-event.js"
import type { Block } from "../domain/block.js"
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { keepBlockText } from "../domain/block-text.js"
import { scanCanonicalObject } from "../json/canonical.js"
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

const FORWARD_HEAD = `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":`
/** What follows the block in a forward frame; the tip is a flat object. */
const FORWARD_TAIL = /^,"tip":(\{[^{}]*\})\},"id":null\}$/
/** The header fields a session reads (src/ogmios/frame.ts isBlockHeader, the backfill's checks). */
const HEADER_FIELDS = new Set(["type", "era", "id", "ancestor", "height", "slot", "size"])

const FORWARD_HEAD_BYTES = Buffer.from(FORWARD_HEAD, "latin1")
/** `,"tip":`: where the tip's text starts after the block */
const TIP_OFFSET = 7

/**
 * A `nextBlock` forward frame with the block left as bytes (src/domain/block-text.ts): the block
 * is scanned, not parsed, and only its header fields are parsed. Undefined when the frame is not
 * laid out as Ogmios writes it or the block's text is not canonical: the caller then decodes it
 * as any other frame (decodeFrame), which reaches the same verdict on what it holds.
 *
 * The scan reads the frame as latin1, one character per byte, so its offsets are byte offsets.
 * The WebSocket accepts only valid UTF-8 text frames, and in valid UTF-8 every byte of a
 * multi-byte character is 0x80 or above: no quote, backslash, digit or control character, no
 * surrogate; so the latin1 text is canonical exactly when the UTF-8 text is. `text` (the latin1
 * view) is returned for error excerpts only.
 */
export const decodeForwardBytes = (data: Buffer): { readonly frame: ResultFrame; readonly text: string } | undefined => {
  const head = FORWARD_HEAD_BYTES.length
  if (data.length <= head || data.compare(FORWARD_HEAD_BYTES, 0, head, 0, head) !== 0) return undefined
  // from the block on: the scan's offsets are then the block's own
  const view = data.subarray(head)
  const text = view.toString("latin1")
  const members: Array<number> = []
  const transactions: Array<number> = []
  const end = scanCanonicalObject(text, 0, members, "transactions", transactions)
  if (end < 0) return undefined
  const tail = FORWARD_TAIL.exec(text.slice(end))
  if (tail === null) return undefined
  // the tip and the header members, parsed at once as `[tip,{header}]`
  let parts = `[${view.toString("utf8", end + TIP_OFFSET, end + TIP_OFFSET + tail[1]!.length)},{`
  let fields = 0
  for (let i = 0; i < members.length; i += 3) {
    if (!HEADER_FIELDS.has(text.slice(members[i]! + 1, members[i + 1]! - 2))) continue
    parts += `${fields++ > 0 ? "," : ""}${view.toString("utf8", members[i]!, members[i + 2]!)}`
  }
  let tip: unknown
  let header: Record<string, unknown>
  try {
    ;[tip, header] = parse(`${parts}}]`) as [unknown, Record<string, unknown>]
  } catch {
    return undefined
  }
  // the block's own bytes: a view into the frame (no copy: the frame is one socket read or the
  // fragments joined, so a view holds little more than the block). The offsets stay plain arrays:
  // typed arrays (two more buffers outside the heap per block) made the backfill slower and its
  // peak RSS higher, alternating builds
  const block = keepBlockText(header as unknown as Block, { bytes: view.subarray(0, end), members, transactions })
  return { frame: { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block, tip }, id: null }, text }
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
