/**
 * `hecate sync` (built CLI, needs `npm run build`) over a simulated chain that keeps growing and
 * forking while the backfill runs: the epoch streams followed by the fold of the relay's events
 * must be exactly the simulator's canonical chain, with the seam at the last backfilled block (no
 * gap, no overlap). A second `sync` resumes the relay from its cursor and backfills nothing.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { entryBlocks, epochStreams, xrange } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"
import { caughtUp, cleanup, newPrefix, sleep, waitFor } from "./harness.js"
import { foldEntries, relayState } from "./support.js"

let client: IORedis
let sim: SimulatorHandle
let dir: string
const relayPrefix = newPrefix()
const historyPrefix = newPrefix()

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-sync-"))
  sim = await startSimulator({
    port: 0,
    seed: "relay-sync",
    epochLength: 100,
    activeSlotsCoefficient: 0.5,
    securityParameter: 10,
    initialBlocks: 330,
    meanBlockBytes: 1024,
    blockIntervalMs: 30,
    forkRate: 0.15,
    maxRollback: 5
  })
})

afterAll(async () => {
  await sim?.stop()
  await cleanup(client, [relayPrefix, historyPrefix])
  client.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

const sync = () => {
  let child: ChildProcess | undefined
  const done = runCli(
    ["sync", "--redis-prefix", relayPrefix, "--history-prefix", historyPrefix, "--endpoint", sim.url, "--depth", "10",
      "--retry-delay", "0", "--concurrency", "2", "--log-format", "json"],
    {
      // no consumer reads the epoch streams here: lift the backfill's backpressure (5 unconsumed epochs)
      env: {
        REDIS_URL: TEST_REDIS_URL,
        HECATE_ENV_FILE: "/dev/null",
        HECATE_EPOCH_CACHE: join(dir, "epoch_cache.json"),
        REDIS_MAX_UNCONSUMED_EPOCHS: "1000"
      },
      timeoutMs: 120_000,
      onSpawn: (c) => (child = c)
    }
  )
  return { done, stop: () => child?.kill("SIGINT") }
}

describe("sync: backfill then follow the tip", () => {
  it("epoch streams + relay fold = the canonical chain, seamless at the last backfilled block", async () => {
    const startTip = sim.chain.length
    const first = sync()
    await waitFor("the relay cursor", async () => (await client.exists(`${relayPrefix}cursor`)) === 1, 60_000).catch(async (e: unknown) => {
      first.stop()
      const r = await first.done
      throw new Error(`${String(e)}\n--- sync stderr\n${r.stderr.slice(-4000)}\n--- stdout\n${r.stdout.slice(-2000)}`)
    })
    await sleep(1_500) // the chain keeps growing and forking under the relay
    sim.live.stop()
    await caughtUp(client, relayPrefix, sim, 30_000)
    first.stop()
    const result = await first.done
    expect(result.code, result.stderr).toBe(130)
    expect(sim.chain.length).toBeGreaterThan(startTip + 20)

    const epochs = await epochStreams(client, historyPrefix)
    const lastSynced = Number(await client.get(`${historyPrefix}last_synced_epoch`))
    expect(epochs.length).toBeGreaterThan(3)
    expect(epochs.at(-1)).toBe(lastSynced)
    const backfilled: Array<{ height: number; hash: string }> = []
    for (const e of epochs) {
      for (const entry of await xrange(client, `${historyPrefix}epoch:${e}`)) {
        for (const b of entryBlocks(entry)) backfilled.push({ height: Number(b["height"]), hash: String(b["hash"]) })
      }
    }
    const { events, cursor } = await relayState(client, relayPrefix)
    const relayed = foldEntries(events)
    // the seam: the cursor records it, and the relay starts right after the last backfilled block
    expect(Number(cursor["seam_epoch"])).toBe(lastSynced)
    expect(cursor["seam_hash"]).toBe(backfilled.at(-1)!.hash)
    expect(events[0]!.type).toBe("apply")
    expect(events[0]!.height).toBe(backfilled.at(-1)!.height + 1)
    const whole = [...backfilled.map((b) => `${b.height}:${b.hash}`), ...relayed.map((b) => `${b.height}:${b.hash}`)]
    const canonical = sim.chain.canonicalPoints().map((p, i) => `${sim.chain.heightOf(i)}:${p.id}`)
    expect(whole).toEqual(canonical)
    // the first relayed block extends the last backfilled one
    const firstRelayed = JSON.parse(events[0]!.blockText) as { ancestor: string }
    expect(firstRelayed.ancestor).toBe(backfilled.at(-1)!.hash)

    // a second sync resumes the relay (no backfill: the relay already covers everything after the seam)
    const before = await client.xlen(`${relayPrefix}events`)
    const epochsBefore = await epochStreams(client, historyPrefix)
    sim.forge(5)
    const second = sync()
    await caughtUp(client, relayPrefix, sim, 30_000)
    second.stop()
    const r2 = await second.done
    expect(r2.stderr).toContain("resuming the relay")
    expect(await epochStreams(client, historyPrefix)).toEqual(epochsBefore)
    expect(await client.xlen(`${relayPrefix}events`)).toBe(before + 5)
  }, 150_000)
})
