/**
 * `hecate consume` across a Redis outage (built CLI, a private redis-server killed and started
 * again): the outage is logged once when it starts, not as ioredis's "Unhandled error event"
 * stack for every reconnect attempt of each connection, and reading goes on after it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PrivateRedis, startPrivateRedis } from "../relay/private-redis.js"
import { consumeCli, sleep, until } from "./support.js"

let r: PrivateRedis
beforeAll(async () => {
  r = await startPrivateRedis()
})
afterAll(async () => {
  await r?.stop()
})

const event = (n: number) => ["type", "apply", "slot", String(n), "height", String(n), "hash", `h${n}`, "era", "conway", "block", JSON.stringify({ ancestor: n === 0 ? "genesis" : `h${n - 1}` })]

describe("hecate consume across a Redis outage", () => {
  it("logs the outage once, never ioredis's unhandled error events, and reads on after it", async () => {
    for (let n = 0; n < 3; n++) await r.client.xadd("o:r:events", `${n + 1}-0`, ...event(n))
    const run = consumeCli(["--source", "relay", "--redis-prefix", "o:r:", "--group", "g", "--consumer", "c", "--sink", "cli"], { REDIS_URL: r.url })
    try {
      await until("3 lines", () => run.lines() === 3, undefined, 60_000)
      await r.kill()
      await sleep(2_500) // several reconnect attempts of every connection
      await r.start()
      await r.client.xadd("o:r:events", "4-0", ...event(3))
      await until("the line written after the outage", () => run.lines() === 4, undefined, 60_000)
    } finally {
      run.kill("SIGTERM")
    }
    await run.done
    expect(run.errors()).not.toContain("Unhandled error event")
    expect(run.errors()).not.toMatch(/^\s+at /m)
    expect(run.errors().match(/is unreachable/g)?.length, run.errors()).toBe(1)
  }, 120_000)
})
