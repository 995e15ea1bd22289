// /metrics, /health and the run history during a real backfill through the built CLI (needs
// `npm run build`): counters scraped while it runs move monotonically, the reference's Redis
// metrics hash (§6) agrees, and `runs` lists a completed and a failed run.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix, sleep } from "../relay/harness.js"
import { SHORT_EPOCHS } from "../refresh/support.js"
import { runCli } from "../support/cli.js"
import { httpUrlOf, scrape, startCli, value } from "./support.js"

describe("observability of a backfill", () => {
  let sim: SimulatorHandle
  let client: IORedis
  let dir: string
  const prefix = newPrefix()
  const runsPrefix = newPrefix()
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ...SHORT_EPOCHS })
    client = new IORedis(TEST_REDIS_URL)
    dir = mkdtempSync(join(tmpdir(), "hecate-obs-"))
  })
  afterAll(async () => {
    await deleteByPrefix(client, prefix)
    await deleteByPrefix(client, runsPrefix)
    client.disconnect()
    await sim.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const env = () => ({
    REDIS_URL: TEST_REDIS_URL,
    HECATE_RUNS_PREFIX: runsPrefix,
    HECATE_EPOCH_CACHE: join(dir, "cache.json"),
    HECATE_LOCK_TTL_MS: "1500",
    HECATE_PROGRESS_INTERVAL_MS: "250"
  })

  it("scrapes /metrics during the backfill: counters move, /health says 202 then the run is recorded Completed", async () => {
    sim.faults.delay(3) // with one request in flight: a few seconds of backfill to watch
    const running = startCli(
      ["backfill", "--endpoint", sim.url, "--redis-prefix", prefix, "--concurrency", "1", "--in-flight", "1", "--http-port", "0"],
      env()
    )
    const base = await httpUrlOf(running)
    const samples: Array<{ blocks: number; bytes: number; epochs: number; writes: number; inflight: number }> = []
    const healthCodes: Array<number> = []
    let exited = false
    void running.done.then(() => (exited = true))
    while (!exited) {
      try {
        const m = await scrape(base)
        samples.push({
          blocks: value(m, `hecate_blocks_relayed_total{command="backfill"}`),
          bytes: value(m, `hecate_bytes_relayed_total{command="backfill"}`),
          epochs: value(m, "hecate_epochs_completed_total"),
          writes: value(m, `hecate_redis_write_seconds_count{command="backfill"}`),
          inflight: value(m, `hecate_inflight_requests{kind="epoch_sessions"}`)
        })
        healthCodes.push((await fetch(`${base}/health`)).status)
      } catch {
        // the process is exiting
      }
      await sleep(100)
    }
    sim.faults.clear()
    const result = await running.done
    expect(result.code, running.output()).toBe(0)

    const planned = /Backfilling epochs (\d+)\.\.(\d+) \((\d+) epochs, (\d+) blocks\)/.exec(running.output())
    expect(planned, running.output()).not.toBeNull()
    const [, first, last, epochs, blocks] = planned!.map(Number) as [number, number, number, number, number]
    expect(epochs).toBe(last - first + 1)

    // counters only go up, and we saw them mid-way
    expect(samples.length).toBeGreaterThan(5)
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i]!.blocks).toBeGreaterThanOrEqual(samples[i - 1]!.blocks)
      expect(samples[i]!.epochs).toBeGreaterThanOrEqual(samples[i - 1]!.epochs)
      expect(samples[i]!.writes).toBeGreaterThanOrEqual(samples[i - 1]!.writes)
    }
    expect(samples.some((s) => s.blocks > 0 && s.blocks < blocks)).toBe(true)
    expect(samples.some((s) => s.epochs > 0 && s.epochs < epochs)).toBe(true)
    expect(samples.every((s) => s.blocks <= blocks && s.epochs <= epochs)).toBe(true)
    expect(samples.some((s) => s.inflight === 1)).toBe(true)
    expect(samples.at(-1)!.writes).toBeGreaterThan(0)
    expect(samples.at(-1)!.bytes).toBeGreaterThan(0)
    // a backfill is catching up while it runs
    expect(healthCodes).toContain(202)
    expect(healthCodes).not.toContain(503)

    // the reference's Redis metrics hash (§6) agrees with the chain
    const hash = await client.hgetall(`${prefix}metrics`)
    expect(Number(hash["blocks_total"])).toBe(blocks)
    expect(Number(hash["epochs_total"])).toBe(epochs)
    expect(hash["last_heartbeat_ts"]).toMatch(/^\d{4}-\d\d-\d\dT/)
    const meta = await client.hgetall(`${prefix}epoch:${last}:meta`)
    expect(Number(meta["bytes_total"])).toBeGreaterThan(0)
    expect(Number(meta["last_xadd_ts_ms"])).toBeGreaterThanOrEqual(Number(meta["first_xadd_ts_ms"]))

    // non-TTY: periodic progress lines with the run id
    expect(running.output()).toMatch(/progress: \d+\/\d+ epochs, \d+\/\d+ blocks/)
    const runId = /backfill run started  run=([0-9a-z]+-[0-9a-f]{6}) command=backfill/.exec(running.output())?.[1]
    expect(runId).toBeDefined()

    const shown = await runCli(["runs", "show", runId!, "--json"], { env: env() })
    expect(shown.code, shown.stdout + shown.stderr).toBe(0)
    const record = JSON.parse(shown.stdout) as { state: string; command: string; blocks: number; parameters: Record<string, unknown>; endedAt: string }
    expect(record.state).toBe("Completed")
    expect(record.command).toBe("backfill")
    expect(record.blocks).toBe(blocks)
    expect(record.parameters["redisPrefix"]).toBe(prefix)
    expect(record.endedAt).toBeDefined()
  }, 120_000)

  it("a failed run is recorded Failed with its error; `runs` lists it next to the completed one", async () => {
    // nothing listens on port 9 of 127.0.0.1: the backfill cannot reach Ogmios
    const failed = await runCli(["backfill", "--endpoint", "ws://127.0.0.1:9", "--redis-prefix", `${prefix}f:`], { env: env(), timeoutMs: 60_000 })
    expect(failed.code).not.toBe(0)
    const list = await runCli(["runs"], { env: env() })
    expect(list.code, list.stdout + list.stderr).toBe(0)
    const lines = list.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^ID\s+COMMAND\s+PREFIX\s+STATE\s+STARTED \(UTC\)\s+TOOK\s+BLOCKS\s+ERROR$/)
    expect(lines).toHaveLength(3) // header, the failed run (newest first), the completed one
    // each run with the prefix it wrote under: one history serves every prefix
    expect(lines[1]).toMatch(new RegExp(`backfill\\s+${prefix}f:\\s+Failed`))
    expect(lines[2]).toMatch(new RegExp(`backfill\\s+${prefix}\\s+Completed`))
    const only = await runCli(["runs", "--prefix", prefix], { env: env() })
    expect(only.code, only.stdout + only.stderr).toBe(0)
    expect(only.stdout.trim().split("\n").slice(1).map((l) => /\s(Completed|Failed)\s/.exec(l)?.[1])).toEqual(["Completed"])
    const none = await runCli(["runs", "--prefix", "hecate-test:nothing-here:"], { env: env() })
    expect(none.stdout).toContain("no runs recorded under the prefix hecate-test:nothing-here:")
    const json = JSON.parse((await runCli(["runs", "--json"], { env: env() })).stdout) as Array<{ id: string; state: string; error?: string }>
    expect(json.map((r) => r.state)).toEqual(["Failed", "Completed"])
    expect(json[0]!.error).toBeTruthy()
    const show = await runCli(["runs", "show", json[0]!.id], { env: env() })
    expect(show.stdout).toMatch(/state\s+Failed/)
    expect(show.stdout).toContain(json[0]!.error!.slice(0, 30))
    // a run id that is not there is the user's to fix (usage, exit 2), in one line
    const missing = await runCli(["runs", "show", "no-such-run"], { env: env() })
    expect(missing.code).toBe(2)
    expect(missing.stdout).toBe(`runs: no run no-such-run in the run history under ${runsPrefix} (\`runs\` lists the recorded ones)\n`)
  }, 90_000)
})
