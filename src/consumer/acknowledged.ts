/**
 * Whether an item a consumer was handed is acknowledged for its group in Redis, from its id and
 * position alone: what a durable sink needs at start-up to tell the lines it wrote whose
 * acknowledgement was lost (they come back, and must not be written twice) from the ones that
 * are done.
 *
 * - relay item `<key>/<entry>`: acknowledged unless the entry is pending for the group;
 * - history item `<key>/<entry>/<index>`: acknowledged unless the entry is pending and fewer than
 *   `index + 1` of its blocks are acknowledged (the group's batch progress);
 * - a stream or group that no longer exists was fully consumed (the producer's cleanup deletes
 *   only those).
 *
 * An item that was never delivered to the group is not pending either: the answer is only
 * meaningful for items the group was handed.
 */
import type { Redis } from "ioredis"

/** HASH `<history>consumer:<group>:progress`: `<epoch>:<entry>` → blocks of that batch entry acknowledged. */
export const progressKey = (history: string, group: string): string => `${history}consumer:${group}:progress`

export interface HandedItem {
  readonly id: string
  readonly position: string
  readonly source: "history" | "events" | "final"
}

/** The stream, entry and (history: block index in the batch entry) an item's id names. */
const entryOf = (item: HandedItem): { readonly key: string; readonly entry: string; readonly index: number | undefined } => {
  const last = item.id.lastIndexOf("/")
  if (item.source !== "history") return { key: item.id.slice(0, last), entry: item.id.slice(last + 1), index: undefined }
  const mid = item.id.lastIndexOf("/", last - 1)
  return { key: item.id.slice(0, mid), entry: item.id.slice(mid + 1, last), index: Number(item.id.slice(last + 1)) }
}

export const isAcknowledged = async (
  redis: Redis,
  options: { readonly history?: string | undefined; readonly group: string },
  item: HandedItem
): Promise<boolean> => {
  const { key, entry, index } = entryOf(item)
  let pending: Array<unknown>
  try {
    pending = (await redis.xpending(key, options.group, entry, entry, 1)) as Array<unknown>
  } catch (error) {
    if (/NOGROUP|no such key/i.test(String(error))) return true
    throw error
  }
  if (pending.length === 0) return true
  if (index === undefined || options.history === undefined) return false
  // position `h:<epoch>:…`: the batch progress is kept per `<epoch>:<entry>`
  const epoch = Number(item.position.split(":")[1])
  const done = Number((await redis.hget(progressKey(options.history, options.group), `${epoch}:${entry}`)) ?? 0)
  return index < done
}

/** `a` < `b` for stream entry ids (`<ms>-<seq>`). */
const entryBefore = (a: string, b: string): boolean => {
  const [am = 0, as = 0] = a.split("-").map(Number)
  const [bm = 0, bs = 0] = b.split("-").map(Number)
  return am < bm || (am === bm && as < bs)
}

/**
 * Whether the group was ever handed an item (its stream still holds the group, and the group's
 * last delivered entry is at or past the item's): a file line whose item the group was never
 * handed was written for another group. A stream that is gone says nothing (fully consumed).
 */
export const wasHanded = async (redis: Redis, group: string, item: HandedItem): Promise<boolean> => {
  const { key, entry } = entryOf(item)
  let groups: Array<Array<unknown>>
  try {
    groups = (await redis.xinfo("GROUPS", key)) as Array<Array<unknown>>
  } catch (error) {
    if (/no such key/i.test(String(error))) return true
    throw error
  }
  for (const fields of groups) {
    const info = new Map<string, unknown>()
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1])
    if (info.get("name") !== group) continue
    return !entryBefore(String(info.get("last-delivered-id") ?? "0-0"), entry)
  }
  return false
}
