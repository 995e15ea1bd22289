/**
 * Test helpers: a real Redis connection (127.0.0.1:6379, or HECATE_TEST_REDIS_URL) and a unique key
 * prefix per test, SCAN+DEL-ed when the test's scope closes.
 */
import { randomBytes } from "node:crypto"
import { Effect, Redacted, type Scope } from "effect"
import { makeConnection } from "../../src/layers/RedisLive.js"
import type { RedisClient, RedisConnection } from "../../src/services/Redis.js"

export const TEST_REDIS_URL = process.env["HECATE_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/0"

export const uniquePrefix = (): string => `hecate-test:${randomBytes(6).toString("hex")}:`

export const deleteByPrefix = async (client: RedisClient, prefix: string): Promise<number> => {
  let cursor = "0"
  let deleted = 0
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
    cursor = next
    if (keys.length > 0) deleted += await client.del(...keys)
  } while (cursor !== "0")
  return deleted
}

export const keysUnder = async (client: RedisClient, prefix: string): Promise<Array<string>> => {
  let cursor = "0"
  const out: Array<string> = []
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
    cursor = next
    out.push(...keys)
  } while (cursor !== "0")
  return out.sort()
}

export interface TestRedis {
  readonly prefix: string
  readonly conn: RedisConnection
  /** The raw client, for arranging state and asserting on it. */
  readonly client: RedisClient
}

/** A connection plus a fresh prefix; everything under the prefix is deleted at scope close. */
export const testRedis: Effect.Effect<TestRedis, never, Scope.Scope> = Effect.gen(function*() {
  const prefix = uniquePrefix()
  const conn = yield* makeConnection({ url: Redacted.make(TEST_REDIS_URL), connectionName: "hecate-test" }).pipe(Effect.orDie)
  yield* Effect.addFinalizer(() => Effect.promise(() => deleteByPrefix(conn.client, prefix)))
  return { prefix, conn: { url: conn.url, use: conn.use }, client: conn.client }
})

/** XGROUP CREATE … MKSTREAM-less at `id`. */
export const createGroup = (client: RedisClient, stream: string, group: string, id = "0") =>
  client.xgroup("CREATE", stream, group, id)

/** Reads everything new for a group (COUNT small, as the contract advises), optionally acking. */
export const drainGroup = async (client: RedisClient, stream: string, group: string, ack = true): Promise<Array<[string, Array<string>]>> => {
  const all: Array<[string, Array<string>]> = []
  for (;;) {
    const reply = (await client.xreadgroup("GROUP", group, "c1", "COUNT", 2, "STREAMS", stream, ">")) as
      | Array<[string, Array<[string, Array<string>]>]>
      | null
    const entries = reply?.[0]?.[1] ?? []
    if (entries.length === 0) break
    for (const e of entries) {
      all.push(e)
      if (ack) await client.xack(stream, group, e[0])
    }
  }
  return all
}
