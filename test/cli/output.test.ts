// What a newcomer reads: the pretty log (one line per event, annotations inline), the JSON log
// (every field on every line), and the demo's closing summary (where the blocks went, how to look).
import { Effect, Logger } from "effect"
import { Redis as IORedis } from "ioredis"
import { describe, expect, it } from "vitest"
import { prettyLogger } from "../../src/cli/logging.js"
import { makeTerminal } from "../../src/cli/terminal.js"
import { deleteByPrefix, TEST_REDIS_URL, uniquePrefix } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"

describe("pretty log", () => {
  it("writes one line per event, with annotations inline when they change", () => {
    let out = ""
    const logger = prettyLogger(makeTerminal((s) => (out += s)), false)
    Effect.runSync(Effect.gen(function*() {
      yield* Effect.logInfo("started").pipe(Effect.annotateLogs({ run: "r1", command: "backfill" }))
      yield* Effect.logInfo("epoch 0 synced").pipe(Effect.annotateLogs({ run: "r1", command: "backfill" }))
      yield* Effect.logWarning("lagging", 3).pipe(Effect.annotateLogs({ run: "r2", command: "relay" }))
      yield* Effect.logInfo("no annotations")
    }).pipe(Effect.provide(Logger.layer([logger]))))
    const lines = out.trimEnd().split("\n")
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}started {2}run=r1 command=backfill$/)
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d INFO {2}epoch 0 synced$/)
    expect(lines[2]).toMatch(/^\d\d:\d\d:\d\d WARN {2}lagging 3 {2}run=r2 command=relay$/)
    expect(lines[3]).toMatch(/^\d\d:\d\d:\d\d INFO {2}no annotations$/)
  })
})

describe("the demo (backfill --simulator)", () => {
  it("prints one line per event and ends with where the blocks are and how to read them; JSON logs keep every field", async () => {
    const prefix = uniquePrefix()
    const client = new IORedis(TEST_REDIS_URL)
    try {
      const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
      const first = await runCli(["backfill", "--simulator", "--redis-prefix", prefix], { env })
      expect(first.code, first.stderr).toBe(0)
      const lines = first.stderr.trimEnd().split("\n")
      expect(lines.filter((l) => /^\s+(run|command):/.test(l))).toEqual([])
      expect(lines.filter((l) => /^\d\d:\d\d:\d\d (INFO|WARN) /.test(l)).length).toBeLessThanOrEqual(20)
      expect(lines.length).toBeLessThanOrEqual(30)
      expect(first.stderr).toMatch(/backfill run started {2}run=[0-9a-z]+-[0-9a-f]{6} command=backfill/)
      expect(first.stderr).toContain(`Relayed epochs up to 6: 7 epochs, 693 blocks`)
      expect(first.stderr).toContain(`The blocks are in Redis at ${TEST_REDIS_URL}, one stream per epoch: ${prefix}epoch:0 … ${prefix}epoch:6.`)
      const look = /^ {4}(redis-cli.* XLEN (\S+))$/m.exec(first.stderr)
      expect(look?.[2]).toBe(`${prefix}epoch:6`)
      // the command it shows reads what was written
      expect(await client.xlen(look![2]!)).toBeGreaterThan(0)
      expect(first.stderr).toContain(`npm start -- status --redis-prefix ${prefix}`)

      const again = await runCli(["backfill", "--simulator", "--redis-prefix", prefix, "--log-format", "json"], { env })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).toContain(`Nothing left to do: epochs 0..6 are already in Redis at ${TEST_REDIS_URL}, one stream per epoch:`)
      const json = again.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { level: string; message: string; annotations: Record<string, string> })
      expect(json.length).toBeGreaterThan(2)
      const run = json[0]!.annotations["run"]
      expect(run).toMatch(/^[0-9a-z]+-[0-9a-f]{6}$/)
      for (const entry of json) expect(entry.annotations).toMatchObject({ run, command: "backfill" })
      // a resume without --start-epoch is not a warning
      expect(json.filter((e) => e.level === "WARN")).toEqual([])
      expect(json.map((e) => e.message)).toContain("resuming after last_synced_epoch = 6: epochs 0..6 are already delivered")
    } finally {
      await deleteByPrefix(client, prefix)
      client.disconnect()
    }
  })
})
