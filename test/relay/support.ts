/**
 * Helpers for the relay tests: decode what the relay left in Redis (events / final entries),
 * fold it, and compare it with a canonical chain.
 */
import type { Redis as IORedis } from "ioredis"
import type { Block } from "../../src/domain/block.js"
import { parse } from "../../src/json/lossless.js"
import { relayKeys } from "../../src/relay/keys.js"

export interface RelayEntry {
  readonly id: string
  readonly type: "apply" | "undo" | "final"
  readonly slot: number
  readonly height: number
  readonly hash: string
  readonly era: string
  /** the raw block text (an apply / undo entry's; a final entry holds none) */
  readonly blockText: string
  /** a final entry: the id of the apply entry in `events` that holds the block */
  readonly ref: string | undefined
}

export const decodeEntry = ([id, flat]: [string, Array<string>]): RelayEntry => {
  const f: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!
  return {
    id,
    type: f["type"] as RelayEntry["type"],
    slot: Number(f["slot"]),
    height: Number(f["height"]),
    hash: f["hash"]!,
    era: f["era"]!,
    blockText: f["block"]!,
    ref: f["ref"]
  }
}

export const blockOf = (entry: RelayEntry): Block => parse(entry.blockText) as Block

/** Entries of a stream after `afterId` (exclusive; "-" for all). */
export const readEntries = async (client: IORedis, key: string, afterId = "-"): Promise<Array<RelayEntry>> => {
  const out: Array<RelayEntry> = []
  let from = afterId === "-" ? "-" : `(${afterId}`
  for (;;) {
    const page = (await client.xrange(key, from, "+", "COUNT", 1000)) as Array<[string, Array<string>]>
    for (const e of page) out.push(decodeEntry(e))
    if (page.length < 1000) return out
    from = `(${page.at(-1)![0]}`
  }
}

/** Folds apply/undo entries into a chain of (height, hash); throws on an undo that is not the tip. */
export const foldEntries = (entries: ReadonlyArray<RelayEntry>): Array<RelayEntry> => {
  const chain: Array<RelayEntry> = []
  for (const e of entries) {
    if (e.type === "apply") {
      const top = chain.at(-1)
      // a Byron EBB shares the height of the block before it
      const ebb = /"(block)?type":\s*"ebb"/.test(e.blockText)
      if (top !== undefined && e.height !== top.height + (ebb ? 0 : 1)) throw new Error(`apply ${e.id} at height ${e.height} after ${top.height}`)
      chain.push(e)
    } else if (e.type === "undo") {
      const top = chain.pop()
      if (top === undefined || top.hash !== e.hash) throw new Error(`undo ${e.id} of ${e.hash} but the tip is ${top?.hash}`)
      if (top.blockText !== e.blockText) throw new Error(`undo ${e.id} carries different content than its apply ${top.id}`)
    }
  }
  return chain
}

export const relayState = async (client: IORedis, prefix: string) => {
  const keys = relayKeys(prefix)
  const [events, final, cursor] = await Promise.all([
    readEntries(client, keys.events),
    readEntries(client, keys.final),
    client.hgetall(keys.cursor)
  ])
  return { events, final, cursor }
}
