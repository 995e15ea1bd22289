/**
 * `hecate relay` as a user runs it (built CLI, needs `npm run build`): the jsonl sink, the
 * refusals (a bad --from is a usage error; --from origin over an existing cursor, or another
 * --format, is refused with a message saying what to do), and the Ogmios reconnect log line.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"
import { caughtUp, cleanup, expectCanonical, newPrefix, waitFor } from "./harness.js"

let client: IORedis
let sim: SimulatorHandle
const prefixes: Array<string> = []
const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  sim = await startSimulator({ port: 0, seed: "relay-cli", securityParameter: 10, initialBlocks: 30, meanBlockBytes: 512 })
})
afterAll(async () => {
  await sim?.stop()
  await cleanup(client, prefixes)
  client.disconnect()
})

const start = (args: ReadonlyArray<string>) => {
  let child: ChildProcess | undefined
  let stdout = ""
  const done = runCli(["relay", "--endpoint", sim.url, ...args], {
    env,
    timeoutMs: 40_000,
    onSpawn: (c) => {
      child = c
      c.stdout?.on("data", (d: Buffer) => (stdout += d.toString()))
    }
  })
  return { done, stop: () => child?.kill("SIGINT"), stdout: () => stdout }
}

describe("relay command", () => {
  it("--sink jsonl prints apply and final events of the whole chain", async () => {
    const r = start(["--sink", "jsonl", "--from", "origin", "--depth", "10", "--format", "ogmios"])
    await waitFor("30 applies", () => r.stdout().split("\n").filter((l) => l.includes('"type":"apply"')).length >= 30)
    r.stop()
    const result = await r.done
    expect(result.code).toBe(130)
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; height: number; hash: string; block: { id: string } })
    const applies = lines.filter((l) => l.type === "apply")
    expect(applies.map((l) => l.hash)).toEqual(sim.chain.canonicalPoints().map((p) => p.id))
    expect(applies.every((l) => l.block.id === l.hash)).toBe(true)
    expect(lines.filter((l) => l.type === "final").length).toBe(20)
  })

  it("refuses a bad --from (usage), and --from origin or another --format over an existing cursor", async () => {
    const bad = await runCli(["relay", "--endpoint", sim.url, "--from", "yesterday"], { env })
    expect(bad.code).toBe(2)
    expect(bad.stdout + bad.stderr).toContain("--from must be cursor, tip, origin or slot.hash")

    const p = newPrefix()
    prefixes.push(p)
    const first = start(["--redis-prefix", p, "--from", "origin", "--depth", "10"])
    await caughtUp(client, p, sim)
    first.stop()
    expect((await first.done).code).toBe(130)

    const again = await runCli(["relay", "--endpoint", sim.url, "--redis-prefix", p, "--from", "origin"], { env })
    expect(again.code).toBe(15)
    expect(again.stdout).toContain("would fork the published stream")
    expect(again.stdout).toContain("resume this one with --from cursor")
    // settings that do not fit the cursor are configuration errors: exit 2
    const format = await runCli(["relay", "--endpoint", sim.url, "--redis-prefix", p, "--format", "ogmios"], { env })
    expect(format.code, format.stdout + format.stderr).toBe(2)
    expect(format.stdout).toContain("entries are in the hecate format, not ogmios")
    const depth = await runCli(["relay", "--endpoint", sim.url, "--redis-prefix", p, "--depth", "1"], { env })
    expect(depth.code, depth.stdout + depth.stderr).toBe(2)
    expect(depth.stdout).toMatch(/volatile window holds \d+ blocks, more than the relay depth 1: use a depth of at least \d+ \(--depth/)
  })

  it("a bad --refresh-interval is a configuration error naming the flag and the schedule it replaces", async () => {
    const bad = await runCli(["relay", "--endpoint", sim.url, "--redis-prefix", newPrefix(), "--refresh-interval", "soonish"], { env })
    expect(bad.code, bad.stdout + bad.stderr).toBe(2)
    const line = bad.stdout.split("\n").find((l) => l.includes("--refresh-interval"))
    expect(line).toBe(
      `Relay stopped: --refresh-interval must be a positive duration like "6 hours" or "30 seconds", got "soonish"; ` +
        `it replaces the refresh schedule of HECATE_REFRESH_CRON (refresh.cron in the config file): fix it, or leave it out to keep that schedule`
    )
    expect(bad.stdout + bad.stderr).not.toMatch(/\n\s+at /)
  })

  it("a bad refresh.interval in the config file is refused naming the key and the file, for relay and serve alike", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hecate-refresh-interval-"))
    const file = join(dir, "hecate.config.json")
    writeFileSync(file, JSON.stringify({ refresh: { interval: "soonish" } }))
    try {
      for (const command of ["relay", "serve"]) {
        const bad = await runCli([command, "--endpoint", sim.url, "--redis-prefix", newPrefix(), "--config", file, "--no-http"].filter((a) => command === "serve" || a !== "--no-http"), { env })
        expect(bad.code, bad.stdout + bad.stderr).toBe(2)
        expect(bad.stdout + bad.stderr).toContain(`refresh.interval in the config file ${file} must be a positive duration like "6 hours" or "30 seconds", got "soonish"`)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("refuses --from a point that is not on the node's chain (exit 2, nothing left behind), instead of starting at the tip", async () => {
    const p = newPrefix()
    prefixes.push(p)
    const bogus = `5.${"ab".repeat(32)}`
    const refused = await runCli(["relay", "--endpoint", sim.url, "--redis-prefix", p, "--from", bogus, "--no-refresh"], { env, timeoutMs: 30_000 })
    expect(refused.code, refused.stdout + refused.stderr).toBe(2)
    expect(refused.stdout).toContain(`--from ${bogus} is not a point of the node's chain`)
    expect(await client.exists(`${p}cursor`, `${p}events`, `${p}final`, `${p}window`)).toBe(0)
    // the prefix is still fresh: a right start point works
    const good = start(["--redis-prefix", p, "--from", "origin", "--depth", "10"])
    await caughtUp(client, p, sim)
    good.stop()
    expect((await good.done).code).toBe(130)
    await expectCanonical(client, p, sim)
  })

  it("two fresh relays started at once on one prefix: exactly one relays, the other exits 15", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const p = newPrefix()
      prefixes.push(p)
      const relays = [start(["--redis-prefix", p, "--from", "origin", "--depth", "10"]), start(["--redis-prefix", p, "--from", "origin", "--depth", "10"])]
      // the loser exits by itself; the winner relays to the tip and is then stopped
      const first = await Promise.race(relays.map((r, i) => r.done.then((result) => ({ i, result }))))
      expect(first.result.code, first.result.stdout + first.result.stderr).toBe(15)
      expect(first.result.stdout).toMatch(/already belongs to a relay/)
      await caughtUp(client, p, sim)
      const winner = relays[1 - first.i]!
      winner.stop()
      const result = await winner.done
      expect(result.code, result.stdout + result.stderr).toBe(130)
      await expectCanonical(client, p, sim)
    }
  })

  it("logs each Ogmios drop and reconnect, and fails over to the next endpoint", async () => {
    const p = newPrefix()
    prefixes.push(p)
    // the second endpoint is dead: after the drop the relay dials it, fails, and rotates back
    const r = start(["--endpoint", "ws://127.0.0.1:9", "--redis-prefix", p, "--from", "origin", "--depth", "10"])
    let stderr = ""
    await caughtUp(client, p, sim)
    sim.faults.dropAfter(1)
    sim.forge(3)
    await caughtUp(client, p, sim)
    r.stop()
    const result = await r.done
    stderr = result.stderr
    expect(stderr).toMatch(/Ogmios connection lost \(.*\); reconnecting to ws:\/\/127\.0\.0\.1:\d+ in \d+ ms \(retry \d+\)/)
    expect(stderr).toMatch(/reconnected to ws:\/\/127\.0\.0\.1:\d+ from \d+\./)
    // the dead endpoint never opened: it could not connect, and no close code is made up for it
    expect(stderr).toMatch(/Ogmios ws:\/\/127\.0\.0\.1:9: could not connect: connect ECONNREFUSED 127\.0\.0\.1:9; reconnecting/)
    expect(stderr).not.toMatch(/127\.0\.0\.1:9: [^\n]*close code/)
  })
})
