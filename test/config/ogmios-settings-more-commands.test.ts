/**
 * The Ogmios connection settings reach the commands whose sessions are opened by library code
 * (the refresh job, the printed relay) through the run's one OgmiosConnector: against a server
 * that accepts the WebSocket and never answers, they report a timeout of the configured 500 ms,
 * set by HECATE_REQUEST_TIMEOUT_MS or by the config file's `ogmios.requestTimeoutMs`.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { WebSocketServer } from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { output } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"
import { waitFor } from "../relay/harness.js"

const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }

describe("request timeout of the commands whose sessions library code opens", () => {
  let silent: WebSocketServer
  let url: string
  const dir = mkdtempSync(join(tmpdir(), "hecate-timeouts-"))
  beforeAll(async () => {
    // accepts every connection and every frame, answers none
    silent = new WebSocketServer({ host: "127.0.0.1", port: 0 })
    await new Promise<void>((resolve) => silent.once("listening", () => resolve()))
    url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const c of silent.clients) c.terminate()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  })

  it("refresh gives up on a silent Ogmios after HECATE_REQUEST_TIMEOUT_MS=500 (exit 10)", async () => {
    const started = performance.now()
    const r = await runCli(["refresh", "--endpoint", url, "--data-dir", dir], { env: { ...env, HECATE_REQUEST_TIMEOUT_MS: "500" }, timeoutMs: 25_000 })
    const seconds = (performance.now() - started) / 1000
    expect(r.stdout + r.stderr).toMatch(/no answer to \S+ for 500 ms/)
    expect(r.code, output(r)).toBe(10)
    // the default timeout would take 4 × 30 s
    expect(seconds).toBeLessThan(15)
  })

  it("relay --sink jsonl reports the config file's 500 ms timeout and keeps retrying", async () => {
    const config = join(dir, "hecate.config.json")
    writeFileSync(config, JSON.stringify({ ogmios: { endpoints: [url], requestTimeoutMs: 500 } }))
    let child: ChildProcess | undefined
    let text = ""
    const done = runCli(["relay", "--sink", "jsonl", "--config", config, "--from", "origin", "--depth", "10", "--no-refresh"], {
      env,
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
  })
})
