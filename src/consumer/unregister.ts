/**
 * Removing a group: the producers count every group they find, so a group nobody reads any more
 * (a sample taken with `--max N`, a trial run) holds them back for good: the relay keeps its
 * entries and pauses past `--max-lag`, the backfill's cleanup keeps every epoch it has not read.
 * Unregistering destroys the group on `events`/`final` and on every epoch stream of the history,
 * drops it from the history's registry and deletes its batch progress.
 */
import type { Redis } from "ioredis"
import { storeKeys } from "../backfill/store/keys.js"
import { relayKeys } from "../relay/keys.js"
import { progressKey } from "./acknowledged.js"

export interface Unregistered {
  /** the streams the group was destroyed on */
  readonly streams: number
  /** whether the history's registry listed it */
  readonly registered: boolean
}

export const unregisterGroup = async (
  redis: Redis,
  options: { readonly history?: string | undefined; readonly relay?: string | undefined; readonly group: string }
): Promise<Unregistered> => {
  const { group } = options
  const keys: Array<string> = []
  let registered = false
  if (options.history !== undefined) {
    // out of the registry first: no consumer creates it on a newly published epoch any more
    registered = (await redis.srem(`${options.history}consumer_groups`, group)) > 0
    const epochs = storeKeys(options.history).epochPrefix
    let cursor = "0"
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${epochs.replace(/[*?[\]\\]/g, "\\$&")}*`, "COUNT", 1000)
      cursor = next
      for (const key of found) if (/^\d+$/.test(key.slice(epochs.length))) keys.push(key)
    } while (cursor !== "0")
    await redis.del(progressKey(options.history, group))
  }
  if (options.relay !== undefined) keys.push(relayKeys(options.relay).events, relayKeys(options.relay).final)
  let streams = 0
  for (const key of keys) {
    try {
      streams += Number(await redis.xgroup("DESTROY", key, group))
    } catch (error) {
      // the stream is gone (cleaned up, or never written): nothing of the group there
      if (!/requires the key to exist|no such key/i.test(String(error))) throw error
    }
  }
  return { streams, registered }
}
