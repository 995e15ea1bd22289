/**
 * `hecate relay` (built CLI) behind the fault proxy when Ogmios stops answering mid-sync (the
 * socket stays open and answers pings): below the tip, no answer to nextBlock for
 * HECATE_REQUEST_TIMEOUT_MS is a dead connection. The relay logs it with that cause, reconnects,
 * re-intersects, and the streams come out as an uninterrupted run's.
 */
import type { ChildProcess } from "node:child_process"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"
import { caughtUp, cleanup, expectCanonical, newPrefix } from "./harness.js"

let client: IORedis
let sim: SimulatorHandle
let proxy: FaultProxy
const prefixes: Array<string> = []
const BLOCKS = 40

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  sim = await startSimulator({ port: 0, seed: "relay-stall", securityParameter: 10, initialBlocks: BLOCKS, meanBlockBytes: 512 })
  proxy = await startFaultProxy(sim.url)
})
afterAll(async () => {
  await proxy?.close()
  await sim?.stop()
  await cleanup(client, prefixes)
  client.disconnect()
})

describe("relay: an Ogmios that stops answering below the tip (CLI, fault proxy)", () => {
  it("is a dead connection after HECATE_REQUEST_TIMEOUT_MS: WARN with the cause, reconnect, exact streams", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    proxy.arm({ kind: "stall", at: { height: 17 } })
    let child: ChildProcess | undefined
    const done = runCli(
      ["relay", "--endpoint", proxy.url, "--redis-prefix", prefix, "--from", "origin", "--depth", "10", "--in-flight", "4", "--no-refresh"],
      { env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_REQUEST_TIMEOUT_MS: "1000" }, timeoutMs: 40_000, onSpawn: (c) => (child = c) }
    )
    try {
      await caughtUp(client, prefix, sim, 30_000)
    } finally {
      child?.kill("SIGINT")
    }
    const result = await done
    proxy.clear()
    expect(result.code, result.stdout + result.stderr).toBe(130)
    expect(proxy.fired).toBe(1)
    expect(result.stderr).toMatch(/WARN .*no answer to nextBlock for 1 s/)
    const { events } = await expectCanonical(client, prefix, sim)
    expect(events.filter((e) => e.type === "undo")).toEqual([])
    expect(events).toHaveLength(BLOCKS)
  })
})
