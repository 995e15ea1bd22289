/**
 * HECATE_REQUEST_TIMEOUT_MS and HECATE_RECONNECT_MAX_DELAY_MS are honoured by every command that
 * talks to Ogmios, through the CLI as a user runs it:
 *
 * - against a server that accepts the WebSocket and never answers, backfill, sync, worker, refresh
 *   and relay (into Redis, or printed) report a timeout of the configured 500 ms within a few
 *   seconds (not the default 30 s), set in the environment or in the config file;
 * - a relay whose Ogmios is down reconnects with the backoff capped at the configured 300 ms
 *   (plus the ±20 % jitter), however many attempts fail in a row.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { WebSocketServer } from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { output } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"
import { caughtUp, cleanup, newPrefix, waitFor } from "../relay/harness.js"
import { Redis as IORedis } from "ioredis"

const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }

describe("HECATE_REQUEST_TIMEOUT_MS", () => {
  let silent: WebSocketServer
  let url: string
  beforeAll(async () => {
    // accepts every connection and every frame, answers none
    silent = new WebSocketServer({ host: "127.0.0.1", port: 0 })
    await new Promise<void>((resolve) => silent.once("listening", () => resolve()))
    url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const c of silent.clients) c.terminate()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
  })

  const commands: ReadonlyArray<ReadonlyArray<string>> = [
    ["backfill", "--retries", "0"],
    ["sync"],
    ["worker"],
    // its session is opened by the refresh job, from the run's connector; it fails before writing
    ["refresh"]
  ]
  for (const args of commands) {
    it(`${args[0]} gives up on a silent Ogmios after the configured 500 ms`, async () => {
      const started = performance.now()
      const r = await runCli([...args, "--endpoint", url], { env: { ...env, HECATE_REQUEST_TIMEOUT_MS: "500" }, timeoutMs: 25_000 })
      const seconds = (performance.now() - started) / 1000
      expect(r.code, output(r)).not.toBe(0)
      expect(r.stdout + r.stderr).toMatch(/no answer to \S+ for 500 ms/)
      expect(r.code, output(r)).toBe(10)
      // start-up of the CLI included; the default timeout would take 30 s
      expect(seconds).toBeLessThan(15)
    })
  }

  /** Runs a relay until it has reported two timeouts of 500 ms, then stops it with Ctrl-C. */
  const relayTimesOut = async (args: ReadonlyArray<string>, extraEnv: Record<string, string>) => {
    let child: ChildProcess | undefined
    let text = ""
    const done = runCli(["relay", ...args, "--from", "origin", "--depth", "10", "--no-refresh"], {
      env: { ...env, ...extraEnv },
      timeoutMs: 25_000,
      onSpawn: (c) => {
        child = c
        c.stdout?.on("data", (d) => (text += d))
        c.stderr?.on("data", (d) => (text += d))
      }
    })
    await waitFor("two timeouts of 500 ms", () => (text.match(/no answer to \S+ for 500 ms/g) ?? []).length >= 2, 15_000)
    child?.kill("SIGINT")
    const r = await done
    expect(r.code, output(r)).toBe(130)
  }

  it("relay reports the configured 500 ms timeout and keeps retrying", async () => {
    const prefix = newPrefix()
    await relayTimesOut(["--endpoint", url, "--redis-prefix", prefix], { HECATE_REQUEST_TIMEOUT_MS: "500" })
    const client = new IORedis(TEST_REDIS_URL)
    await cleanup(client, [prefix])
    client.disconnect()
  })

  it("relay --sink jsonl reports the config file's 500 ms timeout (ogmios.requestTimeoutMs) and keeps retrying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hecate-timeouts-"))
    const config = join(dir, "hecate.config.json")
    writeFileSync(config, JSON.stringify({ ogmios: { endpoints: [url], requestTimeoutMs: 500 } }))
    try {
      await relayTimesOut(["--sink", "jsonl", "--config", config], {})
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("HECATE_RECONNECT_MAX_DELAY_MS", () => {
  let sim: SimulatorHandle
  const client = new IORedis(TEST_REDIS_URL)
  const prefixes: Array<string> = []
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: "reconnect-cap", securityParameter: 10, initialBlocks: 30, meanBlockBytes: 512 })
  })
  afterAll(async () => {
    await sim?.stop()
    await cleanup(client, prefixes)
    client.disconnect()
  })

  it("relay: no reconnect delay above the configured 300 ms (+ jitter) while Ogmios stays down", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    let child: ChildProcess | undefined
    let text = ""
    const done = runCli(["relay", "--endpoint", sim.url, "--from", "origin", "--depth", "10", "--no-refresh", "--redis-prefix", prefix], {
      env: { ...env, HECATE_RECONNECT_MAX_DELAY_MS: "300" },
      timeoutMs: 40_000,
      onSpawn: (c) => {
        child = c
        c.stdout?.on("data", (d) => (text += d))
        c.stderr?.on("data", (d) => (text += d))
      }
    })
    await caughtUp(client, prefix, sim)
    await sim.stop()
    const delays = () => [...text.matchAll(/reconnecting to \S+ in (\d+) ms/g)].map((m) => Number(m[1]))
    // uncapped, the doubling backoff passes 300 ms at the 3rd attempt and reaches seconds by the 6th
    await waitFor("8 failed reconnects", () => delays().length >= 8, 20_000)
    child?.kill("SIGINT")
    const r = await done
    expect(r.code, output(r)).toBe(130)
    const seen = delays()
    expect(seen.length).toBeGreaterThanOrEqual(8)
    expect(Math.max(...seen), seen.join(", ")).toBeLessThanOrEqual(300 * 1.2)
    // the cap is reached, not merely never needed
    expect(seen.filter((d) => d >= 300 * 0.8).length).toBeGreaterThanOrEqual(3)
  })
})
