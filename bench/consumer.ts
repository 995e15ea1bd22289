/**
 * Consumer throughput (`hecate/consumer`): items/s and MB/s of `consume$` with one consumer group,
 * acking every item as it arrives, on a local Redis (REDIS_URL, default 127.0.0.1:6379) under a
 * throwaway prefix. Two inputs, both written beforehand so the figure is the consumer's alone:
 * - history: `epochs` epochs of simulator blocks (~16 KiB of JSON each) in batch entries of 20
 *   blocks, committed with `last_synced_epoch` (the backfill's layout);
 * - relay: the same blocks as `events` apply entries with the relay's ids and fields, plus one
 *   `final` entry per block `depth` below (what a relay following the tip writes).
 * Nothing is asserted.
 *
 *   npx tsc -p tsconfig.bench.json && npx node dist-bench/bench/consumer.js
 */
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"
import { consume$ } from "../src/consumer/index.js"
import type { Block } from "../src/domain/block.js"
import { encodeBlock, encodeBlocks } from "../src/domain/wire-format.js"
import { Chain } from "../src/simulator/chain.js"
import { deleteByPrefix } from "./redis-keys.js"

export interface ConsumerBenchRow {
  readonly input: "history" | "relay"
  readonly items: number
  readonly seconds: number
  readonly itemsPerSecond: number
  readonly mbPerSecond: number
}


const drain = (redis: Redis, options: { history?: string; relay?: string }, items: number): Promise<number> =>
  new Promise((resolve, reject) => {
    let n = 0
    const started = performance.now()
    const sub = consume$({ redis, ...options, group: "bench", consumer: "b1", inFlight: 64, historyCount: 2, eventsCount: 200, pollMs: 50 })
      .subscribe({
        next: (item) => {
          item.ack()
          if (++n === items) {
            sub.unsubscribe()
            resolve((performance.now() - started) / 1000)
          }
        },
        error: reject
      })
  })

export const runConsumerBench = async (options: { readonly epochs?: number; readonly redisUrl?: string } = {}): Promise<Array<ConsumerBenchRow>> => {
  const redis = new Redis(options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0")
  const prefix = `hecate-bench:${randomBytes(6).toString("hex")}:`
  const epochs = options.epochs ?? 5
  const chain = new Chain({ epochLength: 400, activeSlotsCoefficient: 0.5, securityParameter: 10, meanBlockBytes: 16_384, initialBlocks: epochs * 200 + 50, seed: "consumer-bench" })
  const rows: Array<ConsumerBenchRow> = []
  try {
    const history = `${prefix}history:`
    let historyBlocks = 0
    let historyBytes = 0
    for (let e = 0; e < epochs; e++) {
      const info = chain.epochInfo(e)!
      const blocks: Array<Block> = []
      for (let h = info.firstHeight; h <= info.lastHeight; h++) blocks.push(chain.blockAt(h)!)
      for (let i = 0; i < blocks.length; i += 20) {
        const data = encodeBlocks(blocks.slice(i, i + 20))
        historyBytes += data.length
        await redis.xadd(`${history}epoch:${e}`, "*", "type", "batch", "epoch", String(e), "data", data)
      }
      historyBlocks += blocks.length
    }
    await redis.mset(`${history}low_watermark`, "0", `${history}last_synced_epoch`, String(epochs - 1))
    const hs = await drain(redis, { history }, historyBlocks)
    rows.push({ input: "history", items: historyBlocks, seconds: hs, itemsPerSecond: historyBlocks / hs, mbPerSecond: historyBytes / 1e6 / hs })

    const relay = `${prefix}relay:`
    let relayBytes = 0
    const depth = 10
    for (let h = 0; h < historyBlocks; h++) {
      const b = chain.blockAt(h)!
      const text = encodeBlock(b)
      relayBytes += text.length
      const fields = (type: string, block: Block, body: string) =>
        ["type", type, "slot", String(block.slot ?? 0), "height", String(block.height), "hash", block.id, "era", block.era, "block", body]
      const multi = redis.multi().xadd(`${relay}events`, `${h + 1}-0`, ...fields("apply", b, text))
      if (h >= depth) {
        const f = chain.blockAt(h - depth)!
        multi.xadd(`${relay}final`, `${h + 1}-1`, ...fields("final", f, encodeBlock(f)))
      }
      await multi.exec()
    }
    const items = historyBlocks + historyBlocks - depth
    const rs = await drain(redis, { relay }, items)
    rows.push({ input: "relay", items, seconds: rs, itemsPerSecond: items / rs, mbPerSecond: (relayBytes * 2) / 1e6 / rs })
    return rows
  } finally {
    await deleteByPrefix(redis, prefix)
    redis.disconnect()
  }
}

export const formatConsumerBench = (rows: ReadonlyArray<ConsumerBenchRow>): string =>
  rows.map((r) => `consumer ${r.input.padEnd(7)} ${r.items} items in ${r.seconds.toFixed(2)} s: ${r.itemsPerSecond.toFixed(0)} items/s, ${r.mbPerSecond.toFixed(1)} MB/s`).join("\n")

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatConsumerBench(await runConsumerBench()))
}
