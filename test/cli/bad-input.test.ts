/**
 * Bad settings through the CLI as a user types them: every out-of-range flag or variable stops the
 * command before it does anything, with exit 2 and one line that names the setting and shows a
 * valid example — never a stack trace, never a silent substitute value.
 *
 * The Ogmios endpoint is a dead port: a value that slipped through validation makes the command
 * fail on the connection instead (exit 1), so the test fails fast rather than running a backfill.
 */
import { Redis as IORedis } from "ioredis"
import { afterAll, describe, expect, it } from "vitest"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { type CliResult, runCli } from "../support/cli.js"
import { newPrefix } from "../relay/harness.js"
import { startSimulator } from "../../src/simulator/index.js"

const DEAD = "ws://127.0.0.1:9"
const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }

const expectRefused = (r: CliResult, setting: string) => {
  const out = r.stdout + r.stderr
  expect(r.code, out).toBe(2)
  expect(out).toContain(setting)
  expect(out).toMatch(/e\.g\./)
  // no stack trace, no raw JS error class
  expect(out).not.toMatch(/^\s+at /m)
  expect(out).not.toMatch(/TypeError|RangeError|ReplyError|UnknownError/)
  // the error, not the whole help page it would drown in
  expect(r.stdout).not.toContain("USAGE")
}

interface Case {
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
  readonly setting: string
}

const cases: ReadonlyArray<Case> = [
  { args: ["backfill", "--endpoint", DEAD, "--start-epoch", "-1"], setting: "--start-epoch" },
  { args: ["backfill", "--endpoint", DEAD, "--end-epoch", "-7"], setting: "--end-epoch" },
  { args: ["backfill", "--endpoint", DEAD, "--http-port", "-1"], setting: "--http-port" },
  { args: ["backfill", "--endpoint", DEAD, "--http-port", "70000"], setting: "--http-port" },
  { args: ["relay", "--endpoint", DEAD, "--http-port", "-1"], setting: "--http-port" },
  { args: ["relay", "--endpoint", DEAD, "--http-port", "70000"], setting: "--http-port" },
  { args: ["backfill", "--endpoint", DEAD, "--concurrency", "0"], setting: "--concurrency" },
  { args: ["backfill", "--endpoint", DEAD, "--sink", "jsonl", "--output", "/nonexistent-hecate-dir/blocks.jsonl"], setting: "--output" },
  { args: ["backfill", "--endpoint", DEAD, "--concurrency", "-1"], setting: "--concurrency" },
  { args: ["backfill", "--endpoint", DEAD, "--concurrency", "1000000000"], setting: "--concurrency" },
  { args: ["backfill", "--endpoint", DEAD, "--retries", "-3"], setting: "--retries" },
  { args: ["backfill", "--endpoint", DEAD, "--retry-delay", "-5"], setting: "--retry-delay" },
  { args: ["backfill", "--endpoint", DEAD, "--in-flight", "0"], setting: "--in-flight" },
  { args: ["relay", "--endpoint", DEAD, "--depth", "0"], setting: "--depth" },
  { args: ["relay", "--endpoint", DEAD, "--max-lag", "-1"], setting: "--max-lag" },
  { args: ["relay", "--endpoint", DEAD, "--retain", "-1"], setting: "--retain" },
  { args: ["sync", "--endpoint", DEAD, "--concurrency", "0"], setting: "--concurrency" },
  { args: ["worker", "--endpoint", DEAD, "--concurrency", "0"], setting: "--concurrency" },
  { args: ["serve", "--endpoint", DEAD, "--health-max-distance", "-1"], setting: "--health-max-distance" },
  { args: ["runs", "--limit", "0"], setting: "--limit" },
  { args: ["backfill", "--endpoint", DEAD], env: { HECATE_RUNS_KEEP: "-1" }, setting: "HECATE_RUNS_KEEP" },
  { args: ["backfill", "--endpoint", DEAD], env: { HECATE_PROGRESS_INTERVAL_MS: "-1" }, setting: "HECATE_PROGRESS_INTERVAL_MS" },
  { args: ["relay", "--endpoint", DEAD], env: { HECATE_RUNS_KEEP: "0" }, setting: "HECATE_RUNS_KEEP" },
  { args: ["worker", "--endpoint", DEAD], env: { HECATE_WORKER_LOCK_MS: "10" }, setting: "HECATE_WORKER_LOCK_MS" },
  { args: ["backfill", "--endpoint", DEAD], env: { HECATE_LOCK_TTL_MS: "-5" }, setting: "HECATE_LOCK_TTL_MS" },
  { args: ["backfill", "--endpoint", DEAD], env: { REDIS_URL: "redis://127.0.0.1:6379/abc" }, setting: "REDIS_URL" },
  { args: ["simulate", "--port", "0", "--network", "mainnet-shaped", "--epochs", "207..209"], setting: "--epochs" },
  { args: ["simulate", "--port", "70000"], setting: "--port" },
  { args: ["simulate", "--port", "0", "--fork-rate", "1.5"], setting: "--fork-rate" },
  { args: ["simulate", "--port", "0", "--max-rollback", "50", "--k", "20"], setting: "--max-rollback 50 is deeper than --k 20" },
  { args: ["simulate", "--port", "0", "--network", "custom", "--epochs", "208..209"], setting: "--epochs applies to --network mainnet-shaped only" },
  { args: ["simulate", "--port", "0", "--network", "mainnet-shaped", "--k", "20"], setting: "--k applies to --network custom only" },
  { args: ["simulate", "--port", "0", "--era", "byron", "--epoch-length", "7"], setting: "a Byron epoch is 10·k slots" },
  { args: ["simulate", "--port", "0", "--era", "byron", "--epoch-length", "300", "--k", "20"], setting: "use --epoch-length 200" },
  { args: ["backfill", "--endpoint", DEAD, "--start-epoch", "5", "--end-epoch", "3"], setting: "--start-epoch 5 is after --end-epoch 3" },
  // a flag that means something only with another is refused, not silently ignored
  { args: ["backfill", "--endpoint", DEAD, "--output", "/tmp/never-written.jsonl"], setting: "--output applies to --sink jsonl only" },
  { args: ["backfill", "--endpoint", DEAD, "--detach"], setting: "--detach applies to --distributed only" },
  { args: ["consume", "--group", "g", "--accept-gap"], setting: "--accept-gap applies to --out FILE only" }
]

describe("bad input: exit 2 with the setting named", () => {
  for (const c of cases) {
    const label = [...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`), ...c.args.filter((a) => a !== DEAD && a !== "--endpoint")].join(" ")
    it(label, async () => {
      expectRefused(await runCli(c.args, { env: { ...env, ...c.env }, timeoutMs: 20_000 }), c.setting)
    })
  }
})

describe("a backfill refused for its flags records no run", () => {
  const redis = new IORedis(TEST_REDIS_URL)
  afterAll(() => redis.disconnect())
  for (const [label, args] of [
    ["an empty epoch range", ["--start-epoch", "5", "--end-epoch", "2"]],
    ["a jsonl --output it cannot append to", ["--sink", "jsonl", "--output", "/nonexistent-hecate-dir/blocks.jsonl"]],
    ["--output without the jsonl sink", ["--output", "blocks.jsonl"]]
  ] as const) {
    it(label, async () => {
      const runs = `${newPrefix()}runs:`
      const r = await runCli(["backfill", "--endpoint", DEAD, ...args], { env: { ...env, HECATE_RUNS_PREFIX: runs } })
      expect(r.code, r.stdout + r.stderr).toBe(2)
      expect(r.stderr).not.toContain("run started")
      expect(await redis.keys(`${runs}*`)).toEqual([])
    })
  }
})

describe("REDIS_URL naming a database the server does not have", () => {
  const client = new IORedis(TEST_REDIS_URL)
  const prefix = newPrefix()
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
    client.disconnect()
  })

  it("exits 2 naming REDIS_URL and writes nothing (to db 0 or anywhere), its run history included", async () => {
    // a run history of its own, so nothing else's records can be mistaken for this run's
    const runs = `${prefix}runs:`
    const sim = await startSimulator({ port: 0, seed: "bad-db", initialBlocks: 20 })
    try {
      for (const command of [["backfill", "--simulator", "--redis-prefix", prefix], ["relay", "--endpoint", sim.url, "--redis-prefix", prefix]]) {
        const r = await runCli(command, {
          env: { ...env, REDIS_URL: "redis://127.0.0.1:6379/99", HECATE_RUNS_PREFIX: runs },
          timeoutMs: 30_000
        })
        expectRefused(r, "REDIS_URL")
        expect(r.stdout + r.stderr).toContain("99")
      }
    } finally {
      await sim.stop()
    }
    expect(await client.keys(`${prefix}*`)).toEqual([])
  })
})

describe("simulate --port of a port in use", () => {
  it("exits 2 with one line naming the port and what to do, no unhandled 'error' event", async () => {
    const { createServer } = await import("node:net")
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const r = await runCli(["simulate", "--port", String(port)], { env, timeoutMs: 20_000 })
      expectRefused(r, `--port ${port}`)
      expect(r.stdout + r.stderr).toContain("already in use")
      expect(r.stdout + r.stderr).not.toMatch(/Unhandled|EADDRINUSE/)
    } finally {
      taken.close()
    }
  })
})

describe("examples show what to type", () => {
  it("a bad REDIS_URL's example is a URL to type, not a masked one", async () => {
    const r = await runCli(["backfill", "--endpoint", DEAD], { env: { ...env, REDIS_URL: "redis://127.0.0.1:6379/abc" }, timeoutMs: 20_000 })
    expectRefused(r, "REDIS_URL")
    expect(r.stdout + r.stderr).toContain("e.g. REDIS_URL=redis://127.0.0.1:6379/0")
    expect(r.stdout + r.stderr).not.toContain("***")
  })
})

describe("a mistyped invocation", () => {
  it("names the flag and points at the command's help instead of printing it", async () => {
    const r = await runCli(["relay", "--endpoint", DEAD, "--max-lagg", "5"], { env, timeoutMs: 20_000 })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("Unrecognized flag: --max-lagg")
    expect(r.stderr).toContain("Run `hecate relay --help`")
    expect(r.stderr.split("\n").filter((l) => l.trim() !== "").length).toBeLessThan(6)
  })
})
