// The Redis overview the dashboard and `status` read (src/observability/overview.ts), against the
// real Redis: epoch streams with consumer groups at different points, backpressure, the relay's
// streams and status; and the run log kept with a run, capped, dropped with it.
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readOverview } from "../../src/observability/overview.js"
import { type RunRecord } from "../../src/observability/runs.js"
import { runHistoryAt } from "../support/redis-services.js"
import { deleteByPrefix, TEST_REDIS_URL, uniquePrefix } from "../backfill/redis-helpers.js"

let client: IORedis
const prefixes: Array<string> = []
const fresh = () => {
  const p = uniquePrefix()
  prefixes.push(p)
  return p
}

beforeAll(() => {
  client = new IORedis(TEST_REDIS_URL)
})
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(client, p)
  client.disconnect()
})

const add = async (key: string, n: number) => {
  for (let i = 0; i < n; i++) await client.xadd(key, "*", "type", "batch", "data", String(i))
}

describe("readOverview", () => {
  it("reports each epoch group's lag, pending and the epochs it has not finished, and the backpressure flag", async () => {
    const h = fresh()
    await client.set(`${h}last_synced_epoch`, "3")
    await client.set(`${h}low_watermark`, "1")
    await client.hset(`${h}metrics`, "backpressure_paused", "1", "backpressure_paused_since", "2026-12-01T10:00:00+00:00", "epochs_total", "4")
    await client.sadd(`${h}ready_set`, "5")
    await client.hset(`${h}resume_map`, "4", "4321")
    for (const e of [1, 2, 3, 5]) {
      await add(`${h}epoch:${e}`, 3)
      await client.xgroup("CREATE", `${h}epoch:${e}`, "fast", "0")
      await client.xgroup("CREATE", `${h}epoch:${e}`, "slow", "0")
      const read = (await client.xreadgroup("GROUP", "fast", "c", "COUNT", 10, "STREAMS", `${h}epoch:${e}`, ">")) as Array<[string, Array<[string, Array<string>]>]>
      await client.xack(`${h}epoch:${e}`, "fast", ...read[0]![1].map(([id]) => id))
    }
    // "slow" has read two entries of epoch 1 without acknowledging them, nothing else
    await client.xreadgroup("GROUP", "slow", "c", "COUNT", 2, "STREAMS", `${h}epoch:1`, ">")

    const o = await readOverview(client, { historyPrefix: h })
    expect(o.redis.reachable).toBe(true)
    expect(o.redis.version).toMatch(/^\d+\.\d+/)
    const e = o.epochs!
    expect(e).toMatchObject({ lastSyncedEpoch: 3, lowWatermark: 1, ready: [5], inFlight: { "4": 4321 }, unconsumed: 2, epochsTotal: 4 })
    expect(e.backpressure).toEqual({ paused: true, since: "2026-12-01T10:00:00+00:00" })
    expect(e.streams.map((s) => [s.epoch, s.length])).toEqual([[1, 3], [2, 3], [3, 3], [5, 3]])
    const fast = e.groups.find((g) => g.name === "fast")!
    const slow = e.groups.find((g) => g.name === "slow")!
    expect(fast).toEqual({ name: "fast", epochs: 4, behind: [], lag: 0, pending: 0 })
    expect(slow).toEqual({ name: "slow", epochs: 4, behind: [1, 2, 3, 5], lag: 1 + 3 + 3 + 3, pending: 2 })
  })

  it("reports the relay's streams, groups, status with the reconnect cause (redacted), and the tip distance", async () => {
    const r = fresh()
    for (let i = 1; i <= 6; i++) await client.xadd(`${r}events`, `${i}-0`, "type", "apply")
    await client.xadd(`${r}final`, "1-0", "type", "final")
    await client.xgroup("CREATE", `${r}events`, "app", "0")
    await client.xreadgroup("GROUP", "app", "a", "COUNT", 4, "STREAMS", `${r}events`, ">")
    await client.hset(`${r}status`, "state", "reconnecting", "since_ms", "1764583200000", "endpoint", "ws://u:***@node:1337", "reconnect_cause", "ws://u:secret@node:1337: socket hang up")
    await client.hset(`${r}metrics`, "reconnects", "3", "applies", "6")
    await client.rpush(`${r}window`, "100 2000 aa 6-0", "104 2100 bb 6-1")
    await client.hset(`${r}cursor`, "final_height", "90", "tip_height", "110")

    const o = await readOverview(client, { relayPrefix: r })
    const relay = o.relay!
    expect(relay.state).toBe("reconnecting")
    expect(relay.since).toBe(new Date(1764583200000).toISOString())
    expect(relay.lastReconnectCause).toBe("ws://u:***@node:1337: socket hang up")
    expect(relay.counters).toMatchObject({ reconnects: 3, applies: 6 })
    expect(relay).toMatchObject({ height: 104, tipHeight: 110, tipDistance: 6 })
    expect(relay.streams.map((s) => [s.stream, s.length])).toEqual([["events", 6], ["final", 1]])
    expect(relay.streams[0]!.groups).toEqual([{ name: "app", lag: 2, pending: 4, consumers: 1, lastDeliveredId: "4-0" }])
    expect(relay.streams[1]!.groups).toEqual([])
  })

  it("says Redis is unreachable instead of failing", async () => {
    const down = new IORedis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
    down.on("error", () => {})
    const o = await readOverview(down, { historyPrefix: "x:", relayPrefix: "y:" })
    expect(o.redis.reachable).toBe(false)
    expect(o.epochs).toBeUndefined()
    down.disconnect()
  })
})

describe("the run log", () => {
  it("keeps the newest lines up to the cap, counts the dropped ones, redacts, and goes with its run", async () => {
    const prefix = fresh()
    const history = runHistoryAt(TEST_REDIS_URL, { prefix, keep: 1, logCap: 5 })
    const run = (id: string, at: string): RunRecord => ({
      id, command: "backfill", prefix: "hecate:history:", parameters: { endpoint: "ws://op:key@h:1" }, state: "Running", startedAt: at, endedAt: undefined,
      heartbeatAt: at, blocks: 0, error: undefined, host: "h", pid: 1
    })
    try {
      await history.save(run("a", "2026-12-01T10:00:00.000Z"))
      const lines = Array.from({ length: 8 }, (_, i) => ({ at: `2026-12-01T10:00:0${i}.000Z`, level: i === 7 ? "ERROR" : "INFO", message: `line ${i} ws://op:key@h:1`, process: "h/1" }))
      await history.appendLog("a", lines.slice(0, 3))
      await history.appendLog("a", lines.slice(3))
      await history.recordEpochs("a", [{ epoch: 7, state: "failed", start: 1, end: 2, attempts: 3, blocks: undefined, error: "boom" }])
      const log = await history.readLog("a")
      expect(log.total).toBe(8)
      expect(log.entries.map((l) => l.message)).toEqual([3, 4, 5, 6, 7].map((i) => `line ${i} ws://op:***@h:1`))
      expect(log.entries.at(-1)!.level).toBe("ERROR")
      expect(await history.readEpochs("a")).toEqual([{ epoch: 7, state: "failed", start: 1, end: 2, attempts: 3, error: "boom" }])
      // keep = 1: a newer run drops the old one with its log and timeline
      await history.save(run("b", "2026-12-01T11:00:00.000Z"))
      expect(await history.get("a")).toBeUndefined()
      expect(await client.exists(`${prefix}log:a`, `${prefix}epochs:a`, `${prefix}run:a`)).toBe(0)
    } finally {
      await history.close()
    }
  })
})
