/**
 * `hecate serve` on a fresh prefix does what `sync` does (built CLI, needs `npm run build`): it
 * backfills the finalized epochs into the epoch streams, then relays from the block after the last
 * one, while the chain keeps growing and forking. Epoch streams + the relay's fold must equal the
 * simulator's canonical chain with no gap or overlap at the seam; SIGTERM stops it with exit 0.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, cleanup, newPrefix, sleep, waitFor } from "../relay/harness.js"
import { foldEntries, relayState } from "../relay/support.js"
import { entryBlocks, epochStreams, xrange } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"

let client: IORedis
let sim: SimulatorHandle
let dir: string
const relayPrefix = newPrefix()
const historyPrefix = newPrefix()

beforeAll(async () => {
  client = new IORedis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-serve-sync-"))
  sim = await startSimulator({
    port: 0, seed: "serve-sync", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
    initialBlocks: 330, meanBlockBytes: 1024, blockIntervalMs: 30, forkRate: 0.15, maxRollback: 5
  })
})

afterAll(async () => {
  await sim?.stop()
  await cleanup(client, [relayPrefix, historyPrefix])
  client.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

it("serve on a fresh prefix backfills, then relays from the block after the last backfilled one", async () => {
  let child: ChildProcess | undefined
  const done = runCli(["serve", "--endpoint", sim.url, "--redis-prefix", relayPrefix, "--history-prefix", historyPrefix, "--no-refresh", "--http-port", "0", "--log-format", "json"], {
    env: {
      REDIS_URL: TEST_REDIS_URL,
      HECATE_ENV_FILE: "/dev/null",
      // the flag wins over the variable
      HECATE_HISTORY_PREFIX: `${relayPrefix}not-this:`,
      HECATE_EPOCH_CACHE: join(dir, "epoch_cache.json"),
      HECATE_RELAY_DEPTH: "10",
      HECATE_RUNS_PREFIX: `${relayPrefix}runs:`,
      REDIS_MAX_UNCONSUMED_EPOCHS: "1000" // no consumer reads the epoch streams here
    },
    timeoutMs: 120_000,
    onSpawn: (c) => (child = c)
  })
  await waitFor("the relay cursor", async () => (await client.exists(`${relayPrefix}cursor`)) === 1, 60_000).catch(async (e: unknown) => {
    child?.kill("SIGKILL")
    const r = await done
    throw new Error(`${String(e)}\n--- serve stderr\n${r.stderr.slice(-4000)}\n--- stdout\n${r.stdout.slice(-2000)}`)
  })
  await sleep(1_000)
  sim.live.stop()
  await caughtUp(client, relayPrefix, sim, 30_000)
  child?.kill("SIGTERM")
  const result = await done
  expect(result.code, result.stderr.slice(-3000)).toBe(0)

  expect(await client.keys(`${relayPrefix}not-this:*`)).toEqual([])
  const epochs = await epochStreams(client, historyPrefix)
  const lastSynced = Number(await client.get(`${historyPrefix}last_synced_epoch`))
  expect(epochs.length).toBeGreaterThan(2)
  expect(epochs.at(-1)).toBe(lastSynced)
  const backfilled: Array<string> = []
  for (const e of epochs) {
    for (const entry of await xrange(client, `${historyPrefix}epoch:${e}`)) {
      for (const b of entryBlocks(entry)) backfilled.push(`${Number(b["height"])}:${String(b["hash"])}`)
    }
  }
  const { events, cursor } = await relayState(client, relayPrefix)
  expect(Number(cursor["seam_epoch"])).toBe(lastSynced)
  const relayed = foldEntries(events).map((b) => `${b.height}:${b.hash}`)
  const canonical = sim.chain.canonicalPoints().map((p, i) => `${sim.chain.heightOf(i)}:${p.id}`)
  expect([...backfilled, ...relayed]).toEqual(canonical)
}, 150_000)
