/**
 * An expected failure is printed once, as `<label>: <message>` with its exit code; runMain's own
 * report (an `ERROR (#n): Error: …` line with the same text) is for defects only.
 */
import { Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { ReportedFailure } from "../../src/cli/report.js"
import { toRedisError } from "../../src/services/Redis.js"
import { runCli } from "../support/cli.js"

describe("failure report", () => {
  it("an expected failure (Ogmios unreachable) is printed once, with no runtime report after it", async () => {
    const r = await runCli(["backfill", "--endpoint", "ws://127.0.0.1:1", "--sink", "jsonl", "--retries", "0"], {
      env: { HECATE_ENV_FILE: "/dev/null", HECATE_RECONNECT_MAX_DELAY_MS: "20" },
      timeoutMs: 30_000
    })
    expect(r.code, r.stdout + r.stderr).toBe(10)
    const all = r.stdout + r.stderr
    expect(all.match(/Ogmios unavailable/g)).toHaveLength(1)
    expect(r.stdout).toMatch(/^Backfill incomplete: Ogmios unavailable/m)
    expect(r.stderr).not.toMatch(/ERROR \(#\d+\)|^Error: /m)
  })

  it("a ReportedFailure tells runMain not to report it again; any other error keeps the report", () => {
    expect(Runtime.getErrorReported(new ReportedFailure(10, "already shown"))).toBe(false)
    expect(Runtime.getErrorReported(new Error("a defect"))).toBe(true)
  })
})

describe("Redis down at the start", () => {
  it("the run-history line says in Hecate's words that Redis could not be reached, not ioredis' retry text", async () => {
    const r = await runCli(["backfill", "--simulator"], {
      env: { HECATE_ENV_FILE: "/dev/null", REDIS_URL: "redis://127.0.0.1:1/0" },
      timeoutMs: 40_000
    })
    expect(r.code, r.stdout + r.stderr).toBe(1)
    expect(r.stderr).toMatch(/could not be recorded in Redis \(Redis at redis:\/\/127\.0\.0\.1:1\/0 could not be reached/)
    expect(r.stdout + r.stderr).not.toMatch(/maxRetriesPerRequest|max retries per request/i)
  })

  it("toRedisError turns ioredis' max-retries error into 'could not be reached'", () => {
    const e = toRedisError("XADD k", "redis://127.0.0.1:1/0", new Error("Reached the max retries per request limit (which is 1). Refer to \"maxRetriesPerRequest\" option for details."))
    expect(e.message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1\/0 could not be reached \(XADD k\)/)
    expect(e.message).not.toMatch(/maxRetriesPerRequest/)
  })
})
