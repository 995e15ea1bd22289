/**
 * hecate.config.json through the CLI: backfill and relay read it like serve does (flags >
 * environment > file > .env > defaults). The file is the only place the Ogmios endpoint and the
 * key prefixes are set, so a command that ignored it would dial the default 127.0.0.1:1337 and
 * write under the default prefixes.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli } from "../support/cli.js"
import { e2e, type E2e, output } from "../support/backfill-e2e.js"
import { caughtUp, waitFor } from "../relay/harness.js"
import type { SimulatorHandle } from "../../src/simulator/index.js"
import type { ChildProcess } from "node:child_process"

let t: E2e
let sim: SimulatorHandle
let configPath: string
const historyPrefix = () => `${t.prefix}file-history:`
const relayPrefix = () => `${t.prefix}file-relay:`

beforeAll(async () => {
  t = await e2e()
  sim = await t.sim()
  configPath = join(t.dir, "hecate.config.json")
  writeFileSync(configPath, JSON.stringify({
    ogmios: { endpoints: [sim.url], inFlight: 20 },
    history: { prefix: historyPrefix() },
    relay: { prefix: relayPrefix(), depth: 10, retain: 0 }
  }))
})
afterAll(async () => {
  await t?.cleanup()
})

describe("hecate.config.json", () => {
  it("backfill --config takes the endpoint and the epoch-stream prefix from the file", async () => {
    const r = await runCli(["backfill", "--config", configPath, "--retries", "0"], { env: t.env })
    expect(r.code, output(r)).toBe(0)
    expect(r.stderr).toContain("Relayed epochs up to")
    const last = await t.redis.get(`${historyPrefix()}last_synced_epoch`)
    expect(last).not.toBeNull()
    expect(Number(last)).toBeGreaterThanOrEqual(1)
  })

  it("relay reads the file named by HECATE_CONFIG: endpoint, prefix, depth; a flag still wins over it", async () => {
    let child: ChildProcess | undefined
    const done = runCli(["relay", "--from", "origin", "--no-refresh"], {
      env: { ...t.env, HECATE_CONFIG: configPath },
      timeoutMs: 40_000,
      onSpawn: (c) => (child = c)
    })
    await caughtUp(t.redis, relayPrefix(), sim)
    // depth 10 from the file: the newest final block is 10 below the tip
    const tip = sim.chain.tip()
    if (tip === "origin") throw new Error("the simulator has no blocks")
    await waitFor("final at depth 10", async () => Number(await t.redis.hget(`${relayPrefix()}cursor`, "final_height")) === tip.height - 10)
    child?.kill("SIGINT")
    const r = await done
    expect(r.code, output(r)).toBe(130)

    const flagPrefix = `${t.prefix}flag-relay:`
    let second: ChildProcess | undefined
    const again = runCli(["relay", "--from", "origin", "--no-refresh", "--redis-prefix", flagPrefix], {
      env: { ...t.env, HECATE_CONFIG: configPath },
      timeoutMs: 40_000,
      onSpawn: (c) => (second = c)
    })
    await caughtUp(t.redis, flagPrefix, sim)
    second?.kill("SIGINT")
    expect((await again).code).toBe(130)
  })

  it("an invalid file stops backfill and relay with exit 2 naming the key", async () => {
    const bad = join(t.dir, "bad.config.json")
    writeFileSync(bad, JSON.stringify({ ogmios: { endpoint: [sim.url] } }))
    for (const command of ["backfill", "relay"]) {
      const r = await runCli([command, "--config", bad], { env: t.env, timeoutMs: 20_000 })
      expect(r.code, output(r)).toBe(2)
      expect(r.stdout + r.stderr).toContain("endpoint")
      expect(r.stdout + r.stderr).toContain(bad)
    }
  })
})
