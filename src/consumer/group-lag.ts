/**
 * How many entries of a stream a consumer group has not been handed yet (Redis ≥ 7 reports it as
 * `lag` in XINFO GROUPS): what `hecate consume`'s progress line and `hecate_consumer_group_lag`
 * show for the relay's `events`.
 */
import { Effect } from "effect"
import type { RedisConnection } from "../services/Redis.js"

/** The group's lag on `key`, or undefined when unknown (no stream or group yet, an older Redis, Redis unreachable). */
export const groupLag = (redis: RedisConnection, key: string, group: string): Effect.Effect<number | undefined> =>
  redis.use((client) => client.xinfo("GROUPS", key), `XINFO GROUPS ${key}`).pipe(
    Effect.map((reply) => {
      for (const g of reply as Array<Array<unknown>>) {
        if (g[g.indexOf("name") + 1] !== group) continue
        const lag = g[g.indexOf("lag") + 1]
        return typeof lag === "number" ? lag : undefined
      }
      return undefined
    }),
    // a progress line must never stop the run: an unknown lag is left out of it
    Effect.orElseSucceed(() => undefined)
  )
