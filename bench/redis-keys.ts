/** Deletes every key under `prefix` (SCAN, so a large namespace never blocks the server). */
import type { Redis } from "ioredis"

export const deleteByPrefix = async (redis: Redis, prefix: string): Promise<void> => {
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) await redis.del(...keys)
  } while (cursor !== "0")
}
