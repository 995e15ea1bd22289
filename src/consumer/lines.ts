/**
 * The lines `hecate consume` prints, one per chain item: `jsonl` (one JSON object, the block
 * included) or `cli` (one short row). A durable file of jsonl lines is read back at start-up
 * (./file-sink.ts), by the head of each line: the fields up to its position, always first and in
 * this order.
 */
import { stringify } from "../json/lossless.js"
import type { HandedItem } from "./acknowledged.js"
import type { ChainItem } from "./consume.js"

export const LINE_FORMATS = ["jsonl", "cli"] as const
export type LineFormat = (typeof LINE_FORMATS)[number]

/** One line of output per item (without its newline). */
export const formatItem = (item: ChainItem, format: LineFormat): string => {
  const { point } = item
  if (format === "cli") {
    const tag = item._tag === "Apply" ? "apply" : item._tag === "Undo" ? "undo " : "final"
    return `${tag} ${String(point.height).padStart(9)} ${point.slot}.${point.id} (${item.source})`
  }
  const head = { type: item._tag.toLowerCase(), slot: point.slot, height: point.height, hash: point.id, source: item.source, id: item.id, position: item.position }
  return stringify(item._tag === "Final" ? head : { ...head, block: item.block })
}

/** The head of a jsonl line, up to its position (formatItem writes these fields first, in this order). */
const LINE_HEAD = /^\{"type":"(?:apply|undo|final)","slot":-?\d+,"height":-?\d+,"hash":"[^"]*","source":"(history|events|final)","id":"([^"]*)","position":"([^"]*)"/

/** The item a jsonl line was written for, or undefined when the line is not one of formatItem's. */
export const itemOfLine = (line: string): HandedItem | undefined => {
  const m = LINE_HEAD.exec(line)
  return m === null ? undefined : { source: m[1] as HandedItem["source"], id: m[2]!, position: m[3]! }
}
