/**
 * serve's backfill (a fresh relay prefix: backfill, then relay) takes its concurrency, retries and
 * retry delay from the settings sync uses — HECATE_BACKFILL_CONCURRENCY, HECATE_EPOCH_RETRIES,
 * HECATE_EPOCH_RETRY_DELAY_S, or the config file's history.* — with sync's defaults. Read back from
 * the relay run serve records (built CLI; Ogmios is a dead port, so the backfill never starts and
 * serve waits for it until SIGTERM).
 */
import { availableParallelism, tmpdir } from "node:os"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, describe, expect, it } from "vitest"
import type { RunRecord } from "../../src/observability/runs.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { cleanup, newPrefix, waitFor } from "../relay/harness.js"
import { runCli } from "../support/cli.js"
import { runHistoryAt } from "../support/redis-services.js"

const base = newPrefix()
const dir = mkdtempSync(join(tmpdir(), "hecate-serve-backfill-"))
const client = new IORedis(TEST_REDIS_URL)

afterAll(async () => {
  await cleanup(client, [base])
  client.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

/** serve until its relay run is recorded; its recorded parameters */
const recordedBackfill = async (name: string, env: Record<string, string>, config: object): Promise<unknown> => {
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify(config))
  const runs = `${base}${name}:runs:`
  const history = runHistoryAt(TEST_REDIS_URL, { prefix: runs })
  let stop = () => {}
  const done = runCli(["serve", "--endpoint", "ws://127.0.0.1:9", "--redis-prefix", `${base}${name}:relay:`, "--history-prefix", `${base}${name}:history:`, "--no-http", "--no-refresh"], {
    env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_CONFIG: file, HECATE_RUNS_PREFIX: runs, ...env },
    timeoutMs: 60_000,
    onSpawn: (child) => (stop = () => child.kill("SIGTERM"))
  })
  try {
    let run: RunRecord | undefined
    await waitFor("serve's relay run", async () => {
      run = (await history.list(5)).find((r) => r.command === "relay")
      return run !== undefined
    }, 30_000)
    return run!.parameters["backfill"]
  } finally {
    stop()
    const r = await done
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    await history.close()
  }
}

describe("serve's backfill settings", () => {
  it("defaults to sync's: half the CPUs, 3 retries, 10 s apart", async () => {
    expect(await recordedBackfill("defaults", {}, {})).toEqual({ concurrency: Math.max(1, Math.floor(availableParallelism() / 2)), retries: 3, retryDelaySeconds: 10 })
  }, 60_000)

  it("takes HECATE_BACKFILL_CONCURRENCY / HECATE_EPOCH_RETRIES and the config file's history.retryDelaySeconds; the environment beats the file", async () => {
    const got = await recordedBackfill(
      "set",
      { HECATE_BACKFILL_CONCURRENCY: "1", HECATE_EPOCH_RETRIES: "7" },
      { history: { retries: 2, retryDelaySeconds: 4 } }
    )
    expect(got).toEqual({ concurrency: 1, retries: 7, retryDelaySeconds: 4 })
  }, 60_000)

  it("a bad value stops serve with exit 2 naming the variable", async () => {
    const r = await runCli(["serve", "--endpoint", "ws://127.0.0.1:9", "--no-http", "--no-refresh"], {
      env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_EPOCH_RETRIES: "-1" },
      timeoutMs: 30_000
    })
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stdout + r.stderr).toContain("HECATE_EPOCH_RETRIES must be an integer from 0 to 1000, got -1 — e.g. HECATE_EPOCH_RETRIES=3")
  }, 60_000)
})

describe("backfill reads the same settings", () => {
  const backfillWith = (name: string, env: Record<string, string>, args: ReadonlyArray<string> = []) =>
    runCli(["backfill", "--simulator", "--redis-prefix", `${base}${name}:bf:`, ...args], {
      env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", ...env },
      timeoutMs: 60_000
    })

  it("HECATE_BACKFILL_CONCURRENCY sets how many epochs sync at once; --concurrency beats it", async () => {
    const fromEnv = await backfillWith("env", { HECATE_BACKFILL_CONCURRENCY: "3" })
    expect(fromEnv.code, fromEnv.stderr.slice(-2000)).toBe(0)
    expect(fromEnv.stderr).toMatch(/Backfilling epochs 0\.\.\d+ \(\d+ epochs, \d+ blocks\), 3 at a time/)
    const fromFlag = await backfillWith("flag", { HECATE_BACKFILL_CONCURRENCY: "3" }, ["--concurrency", "2"])
    expect(fromFlag.code, fromFlag.stderr.slice(-2000)).toBe(0)
    expect(fromFlag.stderr).toMatch(/\), 2 at a time/)
  }, 120_000)

  it("a bad HECATE_EPOCH_RETRY_DELAY_S stops it with exit 2 naming the variable", async () => {
    const r = await backfillWith("bad", { HECATE_EPOCH_RETRY_DELAY_S: "soon" })
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stdout + r.stderr).toContain("HECATE_EPOCH_RETRY_DELAY_S")
  }, 60_000)
})
