/**
 * What the consumer refuses or says before it reads (real Redis, hand-written producer keys):
 * - a prefix holding the other producer's keys (history and relay swapped): exit 2 naming the
 *   prefix and what it holds, and no key written into that namespace;
 * - a prefix holding nothing yet: it waits (registration comes first), says once what it waits
 *   for, again every `noticeEveryMs`, and writes only the registration keys;
 * - a group new to a history whose first epochs were cleaned up: `LateGroup` (exit 2), or with
 *   `fromAvailable` / --from-available a warning naming the first epoch and block left;
 * - a second live consumer in the group: one warning (order holds per consumer only);
 * - empty or unusable group / consumer names: exit 2;
 * - settings consume does not use (OGMIOS_ENDPOINTS) cannot stop it.
 */
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { consume$, ConsumerError } from "../../src/consumer/index.js"
import { newPrefix } from "../relay/harness.js"
import { consumeCli, keysUnder, parseLines, runConsumer, sleep, until, writeHistory, useTestRedis } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)

const fresh = () => {
  const p = newPrefix()
  prefixes.push(p)
  return p
}

/** A relay's keys as the relay writes them (cursor, window), with one apply. */
const writeRelay = async (prefix: string) => {
  await redis.hset(`${prefix}cursor`, { seq: "1", producer: "1", depth: "10", format: "hecate" })
  await redis.rpush(`${prefix}window`, "0 0 aa 1-0")
  await redis.xadd(`${prefix}events`, "1-0", "type", "apply", "slot", "0", "height", "0", "hash", "aa", "era", "conway", "block", "{}")
}

describe("consume: prefixes", () => {
  it("a history prefix pointing at a relay, or a relay prefix at a backfill: exit 2 naming the prefix, nothing written there", async () => {
    const relay = fresh()
    const history = fresh()
    await writeRelay(relay)
    await writeHistory(redis, history, 1, 3, 3)
    const relayKeysBefore = await keysUnder(redis, relay)
    const historyKeysBefore = await keysUnder(redis, history)

    // swapped: the relay's prefix given as the history, the history's as the relay
    const swapped = await consumeCli(["--group", "g", "--consumer", "c", "--history-prefix", relay, "--redis-prefix", history]).done
    expect(swapped.code, swapped.stderr).toBe(2)
    // one line on stderr: stdout is the data (a pipe or a file the failure must not be written into)
    expect(swapped.stdout).toBe("")
    expect(swapped.stderr).toContain(`Consume failed: consumer: WrongPrefix: the history prefix ${relay}`)
    expect(swapped.stderr).toContain("holds a relay's keys")
    expect(swapped.stderr).not.toMatch(/^\s+at /m)

    const relayAtHistory = await consumeCli(["--group", "g", "--consumer", "c", "--source", "relay", "--redis-prefix", history]).done
    expect(relayAtHistory.code, relayAtHistory.stderr).toBe(2)
    expect(relayAtHistory.stderr).toContain(`the relay prefix ${history}`)
    expect(relayAtHistory.stderr).toContain("holds a backfill's epoch streams")

    const registerSwapped = await consumeCli(["--group", "g", "--register-only", "--history-prefix", relay, "--redis-prefix", history]).done
    expect(registerSwapped.code, registerSwapped.stderr).toBe(2)

    // no group, registry or stream was created in either producer's namespace
    expect(await keysUnder(redis, relay)).toEqual(relayKeysBefore)
    expect(await keysUnder(redis, history)).toEqual(historyKeysBefore)
    expect(await redis.xinfo("GROUPS", `${relay}events`)).toEqual([])
    expect(await redis.xinfo("GROUPS", `${history}epoch:0`)).toEqual([])
  }, 60_000)

  it("a prefix with nothing yet: waits, says once what it waits for and again every noticeEveryMs, writes only the registration keys", async () => {
    const history = fresh()
    const relay = fresh()
    const notices: Array<string> = []
    const c = runConsumer({
      redis, history, relay, group: "early", consumer: "c", pollMs: 20, noticeEveryMs: 300,
      log: (level, message) => notices.push(`${level} ${message}`)
    })
    await until("two notices", () => notices.length >= 3, c.failed, 10_000)
    c.stop()
    expect(notices[0]).toBe(`info nothing at ${history} yet: group early is registered and waits for a backfill or sync to commit its first epoch (${history}last_synced_epoch)`)
    expect(notices[1]).toMatch(new RegExp(`^info still nothing after \\d+ s at ${history} yet`))
    // at most one notice per interval
    expect(notices.length).toBeLessThanOrEqual(1 + 3000 / 300)
    expect(await keysUnder(redis, history)).toEqual([`${history}consumer_groups`])
    expect(await keysUnder(redis, relay)).toEqual([`${relay}events`, `${relay}final`])

    // the CLI says it too (as a log line on stderr), and keeps waiting
    const run = consumeCli(["--group", "early", "--consumer", "c", "--source", "relay", "--redis-prefix", fresh()])
    await until("the notice", () => run.errors().includes("yet: group early is registered and waits for a relay or sync to write its cursor"), undefined, 20_000)
    await sleep(300)
    run.kill("SIGINT")
    expect((await run.done).code).toBe(130)
  }, 60_000)

  it("a prefix that gets the other producer's keys while the consumer waits: WrongPrefix", async () => {
    const history = fresh()
    const c = runConsumer({ redis, history, group: "g", consumer: "c", pollMs: 20, noticeEveryMs: 100, log: () => {} })
    await sleep(200)
    await writeRelay(history)
    const error = await c.failed.then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ConsumerError)
    expect((error as ConsumerError).reason).toBe("WrongPrefix")
    expect((error as ConsumerError).exitCode).toBe(2)
  })
})

describe("consume: a group registered late on a history", () => {
  /** Epochs 0–3 committed; 0 and 1 read by group "old" and cleaned up (low_watermark 2). */
  const cleanedHistory = async () => {
    const history = fresh()
    const hashes = await writeHistory(redis, history, 4, 5, 5)
    await redis.sadd(`${history}consumer_groups`, "old")
    for (const e of [0, 1, 2, 3]) await redis.xgroup("CREATE", `${history}epoch:${e}`, "old", "0")
    await redis.del(`${history}epoch:0`, `${history}epoch:1`)
    await redis.set(`${history}low_watermark`, "2")
    return { history, hashes }
  }

  it("refuses to start mid-chain (LateGroup, exit 2) and registers nothing", async () => {
    const { history } = await cleanedHistory()
    const r = await consumeCli(["--group", "late", "--consumer", "c", "--source", "history", "--history-prefix", history]).done
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`group late is new to ${history}, whose epochs 0–1 are gone`)
    expect(r.stderr).toContain("it would start at epoch 2 (block height 10)")
    expect(r.stderr).toContain("--from-available")
    expect(await redis.sismember(`${history}consumer_groups`, "late")).toBe(0)
    // a registered group (the one that read them) resumes without a word
    const old = await consumeCli(["--group", "old", "--consumer", "c", "--source", "history", "--history-prefix", history, "--max", "1"]).done
    expect(old.code, old.stderr).toBe(0)
    expect(old.stderr).not.toContain("WARN")
  }, 60_000)

  it("with --from-available: a warning naming the first epoch and block left, then from there", async () => {
    const { history, hashes } = await cleanedHistory()
    const r = await consumeCli(["--group", "late", "--consumer", "c", "--source", "history", "--history-prefix", history, "--from-available", "--max", "2"]).done
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`WARN .*group late starts at epoch 2 \\(block height 10\\) of ${history}, the first one it can still read: epochs 0–1 are gone`))
    expect(parseLines(r.stdout).map((l) => l.hash)).toEqual(hashes.slice(10, 12))
    // registered now: the next run is not warned again
    const next = await consumeCli(["--group", "late", "--consumer", "c", "--source", "history", "--history-prefix", history, "--max", "1"]).done
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).not.toContain("WARN")
    expect(parseLines(next.stdout).map((l) => l.hash)).toEqual(hashes.slice(12, 13))
  }, 60_000)
})

describe("consume: several consumers in one group", () => {
  it("a second live consumer joining the group is warned about once (order holds per consumer only)", async () => {
    const history = fresh()
    await writeHistory(redis, history, 1, 200, 1)
    const notices: Array<string> = []
    const options = { redis, history, group: "shared", pollMs: 20, noticeEveryMs: 100, log: (level: string, message: string) => notices.push(`${level} ${message}`) }
    const a = runConsumer({ ...options, consumer: "a" })
    await until("a read the epoch", () => a.items() === 200, a.failed)
    await sleep(300)
    expect(notices.filter((n) => n.startsWith("warn"))).toEqual([])
    // b joins (and reads nothing: a acknowledged every entry): it is a live consumer of the group all the same
    const b = runConsumer({ ...options, consumer: "b", log: () => {} })
    await until("a warning", () => notices.some((n) => n.startsWith("warn")), a.failed, 10_000)
    await sleep(400)
    a.stop()
    b.stop()
    const warnings = notices.filter((n) => n.startsWith("warn"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/another consumer of group shared, b, read .* ms ago: .*the order holds per consumer, not across the group/)
  })
})

describe("consume: names and settings", () => {
  it("an empty or unusable group or consumer name: exit 2 with a message; the library throws", async () => {
    for (const [flag, name, text] of [
      ["--group", "", "the group name is empty"],
      ["--group", "a b", `the group name "a b" is not allowed`],
      ["--consumer", "", "the consumer name is empty"],
      ["--consumer", "x/y", `the consumer name "x/y" is not allowed`],
      ["--group", "a:b", `the group name "a:b" is not allowed`]
    ] as const) {
      const args = flag === "--group" ? ["--group", name, "--register-only"] : ["--group", "g", "--consumer", name, "--register-only"]
      const r = await consumeCli([...args, "--history-prefix", fresh()]).done
      expect(r.code, `${flag} ${JSON.stringify(name)}: ${r.stdout}${r.stderr}`).toBe(2)
      expect(r.stdout + r.stderr).toContain(text)
    }
    expect(() => consume$({ redis, history: fresh(), group: "", consumer: "c" }).subscribe()).toThrow(/the group name is empty/)
  }, 60_000)

  it("a bad OGMIOS_ENDPOINTS (a setting consume does not use) does not stop it", async () => {
    const history = fresh()
    const relay = fresh()
    const r = await consumeCli(["--group", "reg", "--register-only", "--history-prefix", history, "--redis-prefix", relay], { OGMIOS_ENDPOINTS: "not json" }).done
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(await redis.sismember(`${history}consumer_groups`, "reg")).toBe(1)
    // a setting it uses is still checked
    const bad = await consumeCli(["--group", "reg", "--register-only", "--history-prefix", history], { HECATE_PROGRESS_INTERVAL_MS: "soon" }).done
    expect(bad.code).toBe(2)
    expect(bad.stdout + bad.stderr).toContain("HECATE_PROGRESS_INTERVAL_MS")
  }, 60_000)
})
