/**
 * What a prefix holds, from the producers' own keys: a backfill's (its ordering base, written
 * before its first batch, and its bookkeeping) or a relay's (its cursor and window). A consumer
 * pointed at the wrong kind would wait forever for keys that never come and register its group
 * in the other producer's namespace; one pointed at an empty prefix waits for the producer (the
 * start-up order lets consumers register first).
 */
import type { Redis } from "ioredis"
import { storeKeys } from "../backfill/store/keys.js"
import { relayKeys } from "../relay/keys.js"

export type PrefixContents = "history" | "relay" | "both" | "nothing"

/** Keys only a backfill writes (`metrics` is left out: the relay has a hash of that name too). */
const historyMarkers = (prefix: string): Array<string> => {
  const k = storeKeys(prefix)
  return [k.lastSyncedEpoch, k.lowWatermark, k.resumeMap, k.readySet, k.eventStream, k.producerLock]
}

/** Keys only a relay writes (`events`/`final` are left out: a group's registration creates them). */
const relayMarkers = (prefix: string): Array<string> => {
  const k = relayKeys(prefix)
  return [k.cursor, k.window, k.checkpoints, k.status]
}

export const prefixContents = async (redis: Redis, prefix: string): Promise<PrefixContents> => {
  const [history, relay] = await Promise.all([redis.exists(...historyMarkers(prefix)), redis.exists(...relayMarkers(prefix))])
  return history > 0 ? (relay > 0 ? "both" : "history") : relay > 0 ? "relay" : "nothing"
}

/** The problem with reading `prefix` as `expected`, or undefined when it holds that (or nothing yet). */
export const prefixProblem = (
  expected: "history" | "relay",
  prefix: string,
  contents: PrefixContents
): string | undefined => {
  if (contents === "nothing" || contents === "both" || contents === expected) return undefined
  return expected === "history"
    ? `the history prefix ${prefix} (--history-prefix, option history) holds a relay's keys (${prefix}cursor, ${prefix}window), not epoch streams: ` +
      `the history and relay prefixes look swapped — give the prefix a backfill or sync writes its epochs under, e.g. hecate:history:`
    : `the relay prefix ${prefix} (--redis-prefix, option relay) holds a backfill's epoch streams (${prefix}last_synced_epoch, ${prefix}epoch:N), not a relay's events: ` +
      `the history and relay prefixes look swapped — give the prefix a relay or sync writes its events under, e.g. hecate:relay:`
}
