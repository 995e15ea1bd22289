/**
 * vitest global setup: after the whole suite, delete the run history that CLI runs started by
 * tests recorded under TEST_RUNS_PREFIX (tests clean their own prefixes; this one is shared).
 */
import { Redis } from "ioredis"
import { TEST_RUNS_PREFIX } from "./cli.js"

export const teardown = async (): Promise<void> => {
  const redis = new Redis(process.env["HECATE_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/0", { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${TEST_RUNS_PREFIX}*`, "COUNT", 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== "0")
  } finally {
    redis.disconnect()
  }
}
