/**
 * How far a group has acknowledged, as a position (the order of `ChainItem.position`): what a
 * durable sink compares with its own last item at start-up. A sink that holds less than the group
 * acknowledged (a file truncated, restored from an older backup, or a new one for a group that
 * has read before) would leave a hole: the group never hands those items out again.
 *
 * Per stream the highest entry delivered to the group that is not pending (`last-delivered-id`,
 * walked back over pending entries); a half-acknowledged history batch counts up to its last
 * acknowledged block (the group's batch progress). A fully acknowledged batch counts at its
 * first block, so a sink cut inside one batch entry is not seen (the position resolves entries
 * of the epoch streams, blocks only through the progress). Epochs the cleanup already took are
 * not looked at.
 *
 * `consumers`: the consumer names the group has on those streams. With more than one, each sink
 * holds only its consumer's share and the group's position says nothing about one sink.
 */
import type { Redis } from "ioredis"
import { storeKeys } from "../backfill/store/keys.js"
import { relayKeys } from "../relay/keys.js"
import { progressKey } from "./acknowledged.js"
import { historyPosition, relayPosition } from "./chain.js"

export interface GroupPosition {
  /** the highest acknowledged position, undefined when the group acknowledged nothing still stored */
  readonly position: string | undefined
  readonly consumers: ReadonlySet<string>
}

const fieldsOf = (flat: Array<unknown>): Record<string, unknown> => {
  const o: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1]
  return o
}

/** The highest id delivered to the group on `key` and not pending, with the group's consumers; undefined without the group. */
const acknowledgedOn = async (redis: Redis, key: string, group: string, consumers: Set<string>): Promise<string | undefined> => {
  let groups: Array<Array<unknown>>
  try {
    groups = (await redis.xinfo("GROUPS", key)) as Array<Array<unknown>>
  } catch {
    return undefined // no stream
  }
  const info = groups.map(fieldsOf).find((g) => g["name"] === group)
  if (info === undefined) return undefined
  for (const c of (await redis.xinfo("CONSUMERS", key, group)) as Array<Array<unknown>>) consumers.add(String(fieldsOf(c)["name"]))
  let last = String(info["last-delivered-id"])
  if (last === "0-0") return undefined
  const pendingCount = Number(info["pending"])
  if (pendingCount === 0) return last
  const pending = new Set(
    ((await redis.xpending(key, group, "-", last, pendingCount)) as Array<[string, ...Array<unknown>]>).map((p) => p[0])
  )
  // walk back from the last delivered entry over the pending ones
  for (;;) {
    if (!pending.has(last)) return last
    const before = (await redis.xrevrange(key, `(${last}`, "-", "COUNT", 1)) as Array<[string, unknown]>
    if (before[0] === undefined) return undefined
    last = before[0][0]
  }
}

export const groupPosition = async (
  redis: Redis,
  options: { readonly history?: string | undefined; readonly relay?: string | undefined; readonly group: string }
): Promise<GroupPosition> => {
  const consumers = new Set<string>()
  const positions: Array<string> = []
  const { group } = options
  if (options.relay !== undefined) {
    const keys = relayKeys(options.relay)
    const events = await acknowledgedOn(redis, keys.events, group, consumers)
    if (events !== undefined) positions.push(relayPosition(events, "events"))
    const final = await acknowledgedOn(redis, keys.final, group, consumers)
    if (final !== undefined) positions.push(relayPosition(final, "final"))
  }
  if (options.history !== undefined && positions.length === 0) {
    const keys = storeKeys(options.history)
    const low = Number(await redis.get(keys.lowWatermark))
    const last = Number(await redis.get(keys.lastSyncedEpoch))
    if (Number.isSafeInteger(low) && Number.isSafeInteger(last)) {
      // the highest epoch the group acknowledged something of holds its position
      for (let e = last; e >= low; e--) {
        const id = await acknowledgedOn(redis, keys.stream(e), group, consumers)
        if (id !== undefined) {
          positions.push(historyPosition(e, id, 0))
          break
        }
      }
    }
    const progress = await redis.hgetall(progressKey(options.history, group))
    for (const [field, done] of Object.entries(progress)) {
      const [epoch, entry] = field.split(":")
      const n = Number(done)
      if (entry !== undefined && n > 0) positions.push(historyPosition(Number(epoch), entry, n - 1))
    }
  }
  positions.sort()
  return { position: positions.at(-1), consumers }
}
