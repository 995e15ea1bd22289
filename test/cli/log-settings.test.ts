/**
 * Every command logs at the level and in the format its settings ask for: `--log-level` (the
 * command line's built-in flag), HECATE_LOG_LEVEL, HECATE_LOG_FORMAT and the config file's `log`
 * section, not only `--log-format`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { runCli } from "../support/cli.js"

let sim: SimulatorHandle
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hecate-log-settings-"))
  sim = await startSimulator({ port: 0, seed: "log-settings", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10, initialBlocks: 250, meanBlockBytes: 512 })
})

afterAll(async () => {
  await sim?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const base = { HECATE_ENV_FILE: "/dev/null" }
const backfill = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runCli(["backfill", "--endpoint", sim.url, "--sink", "jsonl", "--end-epoch", "0", ...args], {
    env: { ...base, HECATE_EPOCH_CACHE: join(dir, `cache-${Math.random()}.json`), ...env }
  })

/** Runs `relay --sink jsonl` until it has printed a block, then stops it with SIGINT. */
const relay = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runCli(["relay", "--endpoint", sim.url, "--sink", "jsonl", "--from", "origin", "--no-refresh", ...args], {
    env: { ...base, ...env },
    onSpawn: (child) => child.stdout!.once("data", () => setTimeout(() => child.kill("SIGINT"), 200))
  })

const logLines = (stderr: string) => stderr.split("\n").filter((l) => /^\d\d:\d\d:\d\d (INFO|WARN|ERROR|DEBUG)/.test(l))
const infoLines = (stderr: string) => stderr.split("\n").filter((l) => /\bINFO\b|"level":"INFO"/.test(l))
const jsonLines = (stderr: string) =>
  stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { level: string; message: string })

describe("log settings (built CLI)", () => {
  it("backfill logs INFO lines by default (the baseline the other cases differ from)", async () => {
    const r = await backfill([])
    expect(r.code, r.stderr).toBe(0)
    expect(infoLines(r.stderr).length).toBeGreaterThan(0)
  })

  it.each([
    ["--log-level warn", ["--log-level", "warn"], {}],
    ["--log-level error", ["--log-level", "error"], {}],
    ["HECATE_LOG_LEVEL=error", [], { HECATE_LOG_LEVEL: "error" }]
  ] as const)("backfill with %s prints no INFO line", async (_, args, env) => {
    const r = await backfill(args, env)
    expect(r.code, r.stderr).toBe(0)
    expect(infoLines(r.stderr)).toEqual([])
  })

  it("--log-level wins over HECATE_LOG_LEVEL", async () => {
    const r = await backfill(["--log-level", "info"], { HECATE_LOG_LEVEL: "error" })
    expect(r.code, r.stderr).toBe(0)
    expect(infoLines(r.stderr).length).toBeGreaterThan(0)
  })

  it("backfill with HECATE_LOG_FORMAT=json logs JSON lines only, the run's first line included", async () => {
    const r = await backfill([], { HECATE_LOG_FORMAT: "json" })
    expect(r.code, r.stderr).toBe(0)
    expect(logLines(r.stderr)).toEqual([])
    const json = jsonLines(r.stderr)
    expect(json.map((l) => l.message)).toContain("backfill run started")
  })

  it("backfill with {\"log\":{\"format\":\"json\"}} in the config file logs JSON lines", async () => {
    const config = join(dir, "hecate.config.json")
    writeFileSync(config, JSON.stringify({ log: { format: "json", level: "info" } }))
    const r = await backfill(["--config", config])
    expect(r.code, r.stderr).toBe(0)
    expect(logLines(r.stderr)).toEqual([])
    expect(jsonLines(r.stderr).length).toBeGreaterThan(0)
  })

  it("relay honours HECATE_LOG_FORMAT=json and HECATE_LOG_LEVEL / --log-level", async () => {
    const json = await relay([], { HECATE_LOG_FORMAT: "json" })
    expect(json.stdout, json.stderr).not.toBe("")
    expect(logLines(json.stderr)).toEqual([])
    expect(jsonLines(json.stderr).some((l) => l.level === "INFO")).toBe(true)

    for (const [args, env] of [[[], { HECATE_LOG_LEVEL: "error" }], [["--log-level", "warn"], {}]] as const) {
      const quiet = await relay(args, env)
      expect(quiet.stdout, quiet.stderr).not.toBe("")
      expect(infoLines(quiet.stderr)).toEqual([])
    }
  })
})
