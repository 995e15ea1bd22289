// How a backfill ends, as its user reads it: a stdout / file sink logs the epochs it wrote (each
// one, the last included) instead of commits it never makes; a Redis run logs its commits, the
// last included; and every run on a terminal ends with what was written where and how to read it.
// The terminal is a real pseudo-terminal (util-linux `script`), as a user's shell gives one.
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEMO_SIMULATOR } from "../../src/backfill/run.js"
import { type SimulatorHandle, startSimulator } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL, uniquePrefix } from "../backfill/redis-helpers.js"
import { mainJs, runCli, TEST_RUNS_PREFIX } from "../support/cli.js"

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** The built CLI on a pseudo-terminal: stdout and stderr are both the terminal. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const command = [process.execPath, mainJs, ...args].map(quote).join(" ")
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...process.env, HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX, HECATE_ENV_FILE: "/dev/null", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      // the terminal's line endings and colours are not what is checked here
      resolve({ code, output: output.replaceAll("\r", "").replace(/\x1b\[[0-9;]*[A-Za-z]/g, "") })
    })
  })

let sim: SimulatorHandle
let dir = ""
let client: IORedis
const prefixes: Array<string> = []
beforeAll(async () => {
  sim = await startSimulator({ ...DEMO_SIMULATOR, seed: "backfill-summary" })
  dir = mkdtempSync(join(tmpdir(), "hecate-summary-"))
  client = new IORedis(TEST_REDIS_URL)
})
afterAll(async () => {
  await sim.stop()
  rmSync(dir, { recursive: true, force: true })
  for (const p of prefixes) await deleteByPrefix(client, p)
  client.disconnect()
})

describe("the end of a backfill", () => {
  it("--sink jsonl logs 'epoch N: … written to stdout' for every epoch, the last included, and no commit it did not make", async () => {
    const result = await runCli(["backfill", "--simulator", "--sink", "jsonl"], { env: { HECATE_ENV_FILE: "/dev/null" } })
    expect(result.code, result.stderr).toBe(0)
    for (let epoch = 0; epoch <= 6; epoch++) expect(result.stderr).toMatch(new RegExp(`INFO  epoch ${epoch}: \\d+ blocks written to stdout`))
    expect(result.stderr).not.toMatch(/committed/)
    expect(result.stdout.trimEnd().split("\n")).toHaveLength(693)
    expect(result.stderr).toContain("693 blocks of 7 epochs (up to 6) were written to stdout, one JSON block per line (hecate format).")
  })

  it("on a terminal, a jsonl run into a file ends with where the blocks are and how to read them", async () => {
    const file = join(dir, "blocks.jsonl")
    const env = { HECATE_EPOCH_CACHE: join(dir, "cache-jsonl.json") }
    const { code, output } = await onTerminal(["backfill", "--endpoint", sim.url, "--sink", "jsonl", "--output", file], env)
    expect(code, output).toBe(0)
    expect(output).toMatch(new RegExp(`epoch 6: \\d+ blocks written to ${file.replaceAll(".", "\\.")}`))
    const lines = readFileSync(file, "utf8").trimEnd().split("\n")
    expect(output).toContain(`${lines.length} blocks of 7 epochs (up to 6) were appended to ${file}, one JSON block per line (hecate format).`)
    expect(output).toContain(`    wc -l ${file}`)
  })

  it("on a terminal, a Redis run logs every commit, the last included, and ends with the streams and the commands to read them", async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const env = { REDIS_URL: TEST_REDIS_URL, HECATE_EPOCH_CACHE: join(dir, "cache-redis.json") }
    const { code, output } = await onTerminal(["backfill", "--endpoint", sim.url, "--redis-prefix", prefix], env)
    expect(code, output).toBe(0)
    expect(output).toContain("committed: last_synced_epoch = 6")
    expect(output).toContain(`The blocks are in Redis at ${TEST_REDIS_URL}, one stream per epoch: ${prefix}epoch:0 … ${prefix}epoch:6.`)
    expect(output).toContain(`XLEN ${prefix}epoch:6`)
  })

  it("without a terminal, a Redis run prints no summary (its log is for a machine or a file)", async () => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const result = await runCli(["backfill", "--endpoint", sim.url, "--redis-prefix", prefix], {
      env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_EPOCH_CACHE: join(dir, "cache-plain.json") }
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain("committed: last_synced_epoch = 6")
    expect(result.stderr).not.toContain("The blocks are in Redis")
  })
})
