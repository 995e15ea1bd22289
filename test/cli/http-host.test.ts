/**
 * A bad `--http-host` through the built CLI: exit 2 with one line that names the flag and the
 * variable it overrides, with the example written as the flag — for serve (a setting override) and
 * for backfill / relay (their own flag), before anything binds or connects. The variable alone
 * still names only the variable.
 */
import { describe, expect, it } from "vitest"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"

const DEAD = "ws://127.0.0.1:9"
const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
const problem = `must be a non-empty value without spaces, got "a b"`

describe("--http-host with a bad value", () => {
  for (const args of [
    ["serve", "--endpoint", DEAD, "--http-host", "a b"],
    ["backfill", "--endpoint", DEAD, "--sink", "jsonl", "--http-port", "0", "--http-host", "a b"],
    ["relay", "--endpoint", DEAD, "--http-port", "0", "--http-host", "a b"]
  ]) {
    it(`${args[0]}: names --http-host and HECATE_HTTP_HOST, exit 2`, async () => {
      const r = await runCli(args, { env, timeoutMs: 30_000 })
      const out = r.stdout + r.stderr
      expect(r.code, out).toBe(2)
      expect(out).toContain(`--http-host (overrides HECATE_HTTP_HOST) ${problem} — e.g. --http-host 0.0.0.0`)
      expect(out).not.toMatch(/^\s+at /m)
      expect(out).not.toContain("cannot listen")
    })
  }

  it("HECATE_HTTP_HOST itself: names the variable, as every setting does", async () => {
    const r = await runCli(["serve", "--endpoint", DEAD], { env: { ...env, HECATE_HTTP_HOST: "a b" }, timeoutMs: 30_000 })
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stdout + r.stderr).toContain(`HECATE_HTTP_HOST ${problem} — e.g. HECATE_HTTP_HOST=0.0.0.0`)
    expect(r.stdout + r.stderr).not.toContain("--http-host")
  })
})
