/**
 * A sink's capabilities (src/sinks/capabilities.ts) decide what the pipelines do with it, not its
 * name: the backfill syncs several epochs at once only into a sink that keeps them apart
 * (`epochsInParallel`), and Ctrl-C on `relay` promises a resume only for a sink that keeps a
 * cursor (`resumable`), which a rerun then really resumes.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { backfill } from "../../src/backfill/backfill.js"
import { EpochIndex } from "../../src/backfill/epoch-index.js"
import { detectNetwork } from "../../src/backfill/network.js"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import type { BlockSink } from "../../src/sinks/BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES } from "../../src/sinks/capabilities.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { cleanup, newPrefix, waitFor } from "../relay/harness.js"
import { SMALL_CHAIN } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"

let sim: SimulatorHandle
let dir: string
let client: IORedis
const prefixes: Array<string> = []
beforeAll(async () => {
  sim = await startSimulator(SMALL_CHAIN)
  dir = mkdtempSync(join(tmpdir(), "hecate-sink-capabilities-"))
  client = new IORedis(TEST_REDIS_URL)
})
afterAll(async () => {
  await sim?.stop()
  rmSync(dir, { recursive: true, force: true })
  await cleanup(client, prefixes)
  client.disconnect()
})

/** A sink that records what the backfill did with it: the epochs open at once, the heights in write order. */
const recordingSink = (epochsInParallel: boolean) => {
  const open = new Set<number>()
  const seen = { mostOpen: 0, heights: [] as Array<number>, epochs: [] as Array<number> }
  const sink: BlockSink = {
    name: "recording",
    capabilities: { ...BACKFILL_SINK_CAPABILITIES.jsonl, epochsInParallel },
    open: () => Effect.void,
    beginEpoch: (epoch) =>
      Effect.sync(() => {
        open.add(epoch)
        seen.mostOpen = Math.max(seen.mostOpen, open.size)
      }),
    writeBatch: (_epoch, blocks) => Effect.sync(() => void seen.heights.push(...blocks.map((b) => b.height))),
    endEpoch: (epoch) =>
      Effect.sync(() => {
        open.delete(epoch)
        seen.epochs.push(epoch)
      }),
    close: () => Effect.void
  }
  return { sink, seen }
}

const ogmiosLayer = (endpoints: ReadonlyArray<string>) => OgmiosLive.layer({ endpoints, requestTimeout: 30_000, reconnect: { maxAttempts: 3, maxDelay: 500 } })

const runBackfill = (sink: BlockSink, cache: string) => {
  const query = ogmiosLayer([sim.url])
  const index = Layer.unwrap(Effect.map(detectNetwork, (network) => EpochIndex.layer({ network, cachePath: join(dir, cache) }))).pipe(Layer.provide(query))
  return Effect.runPromise(
    backfill(sink, { concurrency: 3, batchSize: 7, endpoints: [sim.url], ogmiosLayer, retries: 0, retryDelay: 0 }).pipe(Effect.provide(Layer.mergeAll(index, query)))
  )
}

describe("sink capabilities drive the pipelines", () => {
  it("the backfill syncs one epoch at a time into a sink without epochsInParallel, several at once into one with it", async () => {
    const ordered = recordingSink(false)
    const parallel = recordingSink(true)
    const one = await runBackfill(ordered.sink, "ordered.json")
    const many = await runBackfill(parallel.sink, "parallel.json")

    expect(one.epochs).toBeGreaterThanOrEqual(3)
    expect(many).toEqual(one)
    // asked for 3 at once, the ordered sink never had two epochs open: its blocks form one ascending stream
    expect(ordered.seen.mostOpen).toBe(1)
    expect(ordered.seen.heights).toEqual([...ordered.seen.heights].sort((a, b) => a - b))
    expect(new Set(ordered.seen.heights).size).toBe(ordered.seen.heights.length)
    // the sink that keeps epochs apart got them concurrently, and the same blocks in the end
    expect(parallel.seen.mostOpen).toBeGreaterThan(1)
    expect([...parallel.seen.heights].sort((a, b) => a - b)).toEqual(ordered.seen.heights)
    expect(parallel.seen.epochs).toEqual(ordered.seen.epochs)
  })

  it("Ctrl-C on relay: the resumable redis sink says to rerun, and the rerun resumes its cursor; a printed sink just says Interrupted.", async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
    const p = newPrefix()
    prefixes.push(p)
    const relayArgs = ["relay", "--endpoint", sim.url, "--redis-prefix", p, "--depth", "10", "--no-refresh"]
    let child: ChildProcess | undefined
    const first = runCli([...relayArgs, "--from", "origin"], { env, timeoutMs: 90_000, onSpawn: (c) => (child = c) })
    // stopped once it committed something: the cursor then holds a position to resume from
    await waitFor("the first relay write", async () => Number(await client.hget(`${p}cursor`, "seq")) > 0, 60_000)
    child!.kill("SIGINT")
    const stopped = await first
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(130)
    expect(stopped.stderr).toContain("Interrupted. Rerun to resume from the cursor.")

    // the promise holds: the rerun picks the cursor up where the first run stopped
    const seq = Number(await client.hget(`${p}cursor`, "seq"))
    expect(seq).toBeGreaterThan(0)
    let output = ""
    const rerun = runCli(relayArgs, {
      env,
      timeoutMs: 90_000,
      onSpawn: (c) => {
        const take = (d: Buffer) => (output += d.toString())
        c.stdout?.on("data", take)
        c.stderr?.on("data", take)
        void waitFor("the rerun to resume", () => output.includes(`resuming relay ${p} at write ${seq}`), 60_000).then(() => c.kill("SIGINT"), () => c.kill("SIGINT"))
      }
    })
    const resumed = await rerun
    expect(resumed.code, output).toBe(130)
    expect(output).toContain(`resuming relay ${p} at write ${seq}`)

    const printed = await runCli(["relay", "--endpoint", sim.url, "--sink", "jsonl", "--from", "origin", "--no-refresh"], {
      env: { HECATE_ENV_FILE: "/dev/null" },
      timeoutMs: 90_000,
      onSpawn: (c) => c.stdout?.once("data", () => setTimeout(() => c.kill("SIGINT"), 200))
    })
    expect(printed.code, printed.stderr).toBe(130)
    expect(printed.stderr).toContain("Interrupted.")
    expect(printed.stderr).not.toContain("Rerun")
  }, 240_000)
})
