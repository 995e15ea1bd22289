// The example of docs/consumer.md, verbatim inside `example` (the Redis URL and the two prefixes
// are the test's): a table of the current chain kept by consume$, here against `hecate sync` on a
// forking simulated chain. Keep the two in sync.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { expect, test } from "vitest"
import { consume$ } from "../../src/consumer/index.js"
import { startSimulator } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, cleanup, newPrefix } from "../relay/harness.js"
import { canonical, sleep, startSync, until } from "./support.js"

const example = (url: string, history: string, relay: string) => {
  // --- docs/consumer.md example starts here (after the imports) ---
  const redis = new Redis(url)
  const table = new Map<number, string>() // height → hash: the current chain (a DB table in real life)
  let finalHeight = -1 // nothing at or below it changes any more

  const subscription = consume$({ redis, history, relay, group: "table", consumer: "worker-1" })
    .subscribe((item) => {
      // in real life: one transaction of your store that applies the item and records item.position
      if (item._tag === "Apply") table.set(item.point.height, item.point.id)
      else if (item._tag === "Undo") table.delete(item.point.height)
      else finalHeight = item.point.height
      if (item._tag === "Apply" && item.final) finalHeight = item.point.height
      item.ack() // after your commit: only now is the entry acknowledged in Redis
    })
  // --- example ends here ---
  return { table, final: () => finalHeight, stop: () => (subscription.unsubscribe(), redis.disconnect()) }
}

test("the docs example keeps a table equal to the canonical chain", async () => {
  const sim = await startSimulator({
    port: 0, seed: "consumer-docs", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
    initialBlocks: 200, meanBlockBytes: 512, blockIntervalMs: 30, forkRate: 0.2, maxRollback: 4
  })
  const client = new Redis(TEST_REDIS_URL)
  const dir = mkdtempSync(join(tmpdir(), "hecate-consumer-docs-"))
  const history = newPrefix()
  const relay = newPrefix()
  const running = example(TEST_REDIS_URL, history, relay)
  const producer = startSync(dir, sim.url, relay, history)
  try {
    await until("the relay cursor", async () => (await client.exists(`${relay}cursor`)) === 1, undefined, 60_000)
    await sleep(1_000)
    sim.live.stop()
    await caughtUp(client, relay, sim)
    const chain = canonical(sim)
    const table = () => [...running.table.entries()].sort(([a], [b]) => a - b).map(([h, hash]) => `${h}:${hash}`)
    await until("the table at the tip", () => table().at(-1) === chain.at(-1))
    expect(table()).toEqual(chain)
    // the finals of the tip's write are handed out after its apply
    await until("the tip's finals", () => running.final() === chain.length - 1 - 10) // the relay's depth is 10
  } finally {
    running.stop()
    producer.kill("SIGINT")
    await producer.done
    await sim.stop()
    await cleanup(client, [history, relay])
    client.disconnect()
    rmSync(dir, { recursive: true, force: true })
  }
}, 120_000)
