/**
 * What `hecate status` says of the relay once its process is gone: the status hash outlives the
 * process, so a relay killed while it followed must read "not running (last seen …)", never
 * "following … 0 blocks behind the tip"; a clean stop reads "stopped"; a relay waiting for a node
 * that is behind its cursor says so with both heights instead of a distance of 0. Built CLI.
 */
import type { ChildProcess } from "node:child_process"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"
import { caughtUp, cleanup, newPrefix, sleep, waitFor } from "./harness.js"

let client: IORedis
let sim: SimulatorHandle
const prefixes: Array<string> = []
const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  sim = await startSimulator({ port: 0, seed: "relay-liveness", securityParameter: 10, initialBlocks: 30, meanBlockBytes: 512 })
})
afterAll(async () => {
  await sim?.stop()
  await cleanup(client, prefixes)
  client.disconnect()
})

const startRelay = (prefix: string, from = "origin") => {
  let child: ChildProcess | undefined
  const done = runCli(["relay", "--endpoint", sim.url, "--redis-prefix", prefix, "--from", from, "--depth", "10"], {
    env,
    timeoutMs: 60_000,
    onSpawn: (c) => (child = c)
  })
  return { done, kill: (signal: NodeJS.Signals) => child?.kill(signal) }
}

const status = async (prefix: string) => {
  const r = await runCli(["status", "--redis-prefix", `${prefix}history:`, "--relay-prefix", prefix], { env })
  expect(r.code, r.stdout + r.stderr).toBe(0)
  return r.stdout.split("\n").find((l) => l.startsWith(`Relay ${prefix}`)) ?? ""
}

describe("status and a relay whose process is gone", () => {
  it("a SIGKILLed relay reads 'not running (last seen …)' within a bounded time, a clean stop 'stopped'", async () => {
    const p = newPrefix()
    prefixes.push(p)
    const relay = startRelay(p)
    await caughtUp(client, p, sim, 30_000)
    await waitFor("the relay's first heartbeat", async () => (await client.hget(`${p}status`, "heartbeat_ms")) !== null)
    expect(await status(p)).toContain(" — following since")
    relay.kill("SIGKILL")
    await relay.done
    const killedAt = Date.now()
    let line = ""
    await waitFor("status to say the relay is not running", async () => {
      line = await status(p)
      return line.includes("not running")
    }, 40_000)
    expect(Date.now() - killedAt).toBeLessThan(40_000)
    expect(line).toMatch(/not running \(last seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, \d+ s ago, was following\)/)
    expect(line).not.toContain("blocks behind the tip")
    const json = JSON.parse((await runCli(["status", "--redis-prefix", `${p}history:`, "--relay-prefix", p, "--json"], { env })).stdout) as {
      relay: { state: string; tipDistance?: number; lastSeen?: string }
    }
    expect(json.relay.state).toBe("not running")
    expect(json.relay.tipDistance).toBeUndefined()
    expect(json.relay.lastSeen).toBeDefined()

    // resumed, then stopped by a signal: the hash says stopped at once
    const again = startRelay(p, "cursor")
    await waitFor("the resumed relay to follow", async () => (await status(p)).includes(" — following since"), 30_000)
    again.kill("SIGINT")
    await again.done
    const stopped = await status(p)
    expect(stopped).toContain("stopped since")
    expect(stopped).not.toContain("blocks behind the tip")
  }, 150_000)

  it("a relay waiting for a node behind its cursor shows both heights, not 0 blocks behind", async () => {
    const p = newPrefix()
    prefixes.push(p)
    await client.hset(`${p}cursor`, { tip_height: 40, final_height: 30 })
    await client.rpush(`${p}window`, "40 400 abc")
    await client.hset(`${p}status`, { state: "waiting for the node", since_ms: Date.now(), node_tip_height: 12, heartbeat_ms: Date.now(), heartbeat_every_ms: 2000 })
    const line = await status(p)
    expect(line).toContain("waiting for the node")
    expect(line).toContain("the node is behind the relay (node tip height 12, cursor at height 40): waiting for it to catch up")
    expect(line).not.toContain("0 blocks behind the tip")
    await sleep(0)
  })
})
