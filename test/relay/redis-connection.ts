/**
 * A test file's Redis for relay store tests: a raw client (to read what the relay left) and a
 * RedisConnection (for `makeRelayStore`), opened before the file's tests and closed after them,
 * with every prefix handed out deleted at the end.
 */
import { randomBytes } from "node:crypto"
import { Effect, Exit, Redacted, Scope } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { makeConnection } from "../../src/layers/RedisLive.js"
import type { RedisConnection } from "../../src/services/Redis.js"
import { TEST_REDIS_URL, deleteByPrefix } from "../backfill/redis-helpers.js"

export interface RelayRedis {
  readonly client: () => IORedis
  readonly conn: () => RedisConnection
  /** a fresh prefix, deleted after the file's tests */
  readonly prefix: () => string
}

export const relayRedis = (connectionName: string): RelayRedis => {
  let client: IORedis | undefined
  let conn: RedisConnection | undefined
  const prefixes: Array<string> = []
  const scope = Effect.runSync(Scope.make())
  beforeAll(async () => {
    client = new IORedis(TEST_REDIS_URL)
    conn = await Effect.runPromise(makeConnection({ url: Redacted.make(TEST_REDIS_URL), connectionName }).pipe(Scope.provide(scope)))
  })
  afterAll(async () => {
    for (const p of prefixes) await deleteByPrefix(client!, p)
    client?.disconnect()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  return {
    client: () => client!,
    conn: () => conn!,
    prefix: () => {
      const p = `hecate-test:${randomBytes(6).toString("hex")}:`
      prefixes.push(p)
      return p
    }
  }
}
