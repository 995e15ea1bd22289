/**
 * The command line loads only the command it runs, and restarts the batch commands with the
 * memory settings they need: which command a command line names, which modules a run loads,
 * and the environment of the restart.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { commandRestart, RELAY_HEAP_GROWING_PERCENT, RELAY_SEMI_SPACE_MB, SEMI_SPACE_MB } from "../../src/cli/memory-settings.js"
import { COMMAND_NAMES, invokedCommand } from "../../src/commands/index.js"
import { runCli } from "../support/cli.js"

describe("invokedCommand", () => {
  it("is the first word that is not a global flag or its value", () => {
    expect(invokedCommand(["backfill", "--concurrency", "2"])).toBe("backfill")
    expect(invokedCommand(["--log-level", "debug", "relay", "--from", "tip"])).toBe("relay")
    expect(invokedCommand(["--log-level", "status"])).toBeUndefined() // the flag's value, not a command
    expect(invokedCommand(["-h", "serve"])).toBe("serve")
  })

  it("is undefined (the whole tree) for no command, an unknown word and completions", () => {
    expect(invokedCommand([])).toBeUndefined()
    expect(invokedCommand(["--help"])).toBeUndefined()
    expect(invokedCommand(["backfil"])).toBeUndefined()
    expect(invokedCommand(["--completions", "bash"])).toBeUndefined()
    expect(invokedCommand(["backfill", "--completions=zsh"])).toBeUndefined()
  })

  it("knows every command of the help", async () => {
    const r = await runCli(["--help"])
    const listed = [...r.stdout.split("SUBCOMMANDS")[1]!.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1])
    expect(listed).toEqual([...COMMAND_NAMES])
  })
})

describe("commandRestart: the batch commands", () => {
  it("restarts the batch commands only, with smaller semi-spaces, keeping node's other flags", () => {
    expect(commandRestart({}, ["--enable-source-maps"], "backfill")).toEqual([`--max-semi-space-size=${SEMI_SPACE_MB}`, "--enable-source-maps"])
    expect(commandRestart({}, [], "worker")).toBeDefined()
    expect(commandRestart({}, [], "sync")).toBeDefined()
    expect(commandRestart({}, [], "status")).toBeUndefined()
    expect(commandRestart({}, [], undefined)).toBeUndefined()
  })

  it("does not restart a process that runs with it already (so it restarts once), nor override the user's flag", () => {
    const once = commandRestart({}, [], "backfill")!
    expect(commandRestart({}, once, "backfill")).toBeUndefined()
    expect(commandRestart({}, ["--max-semi-space-size=32"], "backfill")).toBeUndefined()
    expect(commandRestart({ NODE_OPTIONS: "--inspect --semi-space-size=4" }, [], "backfill")).toBeUndefined()
  })
})

describe("commandRestart: the relay", () => {
  it("restarts the relay with the batch commands' young generation and a wider heap growth, keeping node's other flags", () => {
    expect(commandRestart({}, ["--enable-source-maps"], "relay")).toEqual([
      `--max-semi-space-size=${RELAY_SEMI_SPACE_MB}`,
      `--heap-growing-percent=${RELAY_HEAP_GROWING_PERCENT}`,
      "--enable-source-maps"
    ])
    for (const command of ["status", "serve", undefined]) expect(commandRestart({}, [], command)).toBeUndefined()
    for (const command of ["backfill", "sync", "worker"]) expect(commandRestart({}, [], command)).toEqual([`--max-semi-space-size=${SEMI_SPACE_MB}`])
  })

  it("restarts once, never over the user's own semi-space flag, and keeps the user's heap growth", () => {
    const once = commandRestart({}, [], "relay")!
    expect(commandRestart({}, once, "relay")).toBeUndefined()
    expect(commandRestart({}, ["--max-semi-space-size=16"], "relay")).toBeUndefined()
    expect(commandRestart({ NODE_OPTIONS: "--min-semi-space-size=4" }, [], "relay")).toBeUndefined()
    expect(commandRestart({}, ["--heap-growing-percent=30"], "relay")).toEqual([`--max-semi-space-size=${RELAY_SEMI_SPACE_MB}`, "--heap-growing-percent=30"])
  })
})

describe("one command's modules", () => {
  // a preload that records every module the run resolves, printed when it exits
  const dir = mkdtempSync(join(tmpdir(), "hecate-test-modules-"))
  const preload = join(dir, "record.mjs")
  writeFileSync(preload, [
    'import { registerHooks } from "node:module"',
    "const seen = new Set()",
    "registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r } })",
    'process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify([...seen]) + "\\n"))'
  ].join("\n"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const loaded = async (args: ReadonlyArray<string>) => {
    const r = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` } })
    expect(r.code).toBe(0)
    const line = r.stderr.split("\n").find((l) => l.startsWith("LOADED "))
    expect(line, r.stderr).toBeDefined()
    return JSON.parse(line!.slice("LOADED ".length)) as Array<string>
  }
  // the command line is a bundle (rolldown.config.ts) whose chunks are named by the bundler: a
  // module counts as loaded when a loaded chunk holds its code
  const loadedCode = (urls: ReadonlyArray<string>) =>
    urls.filter((u) => u.startsWith("file://") && u.includes("/dist/")).map((u) => readFileSync(fileURLToPath(u), "utf8"))
  const heavy = (urls: ReadonlyArray<string>) => {
    const code = loadedCode(urls)
    return {
      bullmq: urls.some((u) => u.includes("/node_modules/bullmq/")),
      dashboard: code.some((c) => c.includes("<header><h1>Hecate</h1>")), // the dashboard's page
      simulator: code.some((c) => c.includes("SimulatorServer")) // the simulator's Ogmios server
    }
  }

  it("backfill loads neither the job queue, the dashboard nor the simulator", async () => {
    expect(heavy(await loaded(["backfill", "--help"]))).toEqual({ bullmq: false, dashboard: false, simulator: false })
  })

  it("the top-level help loads every command (and so the job queue, the dashboard and the simulator)", async () => {
    expect(heavy(await loaded(["--help"]))).toEqual({ bullmq: true, dashboard: true, simulator: true })
  })

  it("runs effect and rxjs from the bundle, not module by module from node_modules (their source text is most of a run's heap)", async () => {
    const urls = await loaded(["backfill", "--help"])
    expect(urls.filter((u) => /\/node_modules\/(effect|@effect\/[^/]+|rxjs)\//.test(u))).toEqual([])
    expect(urls.some((u) => u.includes("/node_modules/ioredis/"))).toBe(true) // CommonJS packages still load from node_modules
    expect(urls.filter((u) => u.startsWith("file://") && u.includes("/dist/") && !u.includes("/dist/chunks/") && !u.endsWith("/dist/main.js"))).toEqual([])
  })
})
