/**
 * Sinks and formats through the CLI (redis-list, jsonl to a file, cli; --format ogmios vs hecate),
 * and a mainnet-shaped simulator whose two real epochs (208, 209: 43k blocks) are relayed with the
 * shipped CSV epoch index, so the real boundary hashes are verified.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { Block } from "../../../src/domain/block.js"
import { parse, stringify } from "../../../src/json/lossless.js"
import {
  e2ePerTest,
  type E2e,
  expectedEpoch,
  lastFinalized,
  output,
  readEpoch
} from "../../support/backfill-e2e.js"

let t: E2e
e2ePerTest((fresh) => {
  t = fresh
})

const allBlocks = (sim: Parameters<typeof expectedEpoch>[0], last: number, format: "hecate" | "ogmios" = "hecate") =>
  Array.from({ length: last + 1 }, (_, e) => expectedEpoch(sim, e, format)).flat()

describe("sinks and formats (CLI)", () => {
  it("redis-list: every block once, whole epochs in epoch order, status = the last block; no helper keys left", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    const run = await t.backfill(["--endpoint", sim.url, "--sink", "redis-list", "--concurrency", "3", "--batch-size", "5"])
    expect(run.code, output(run)).toBe(0)
    const list = (await t.redis.lrange(`${t.prefix}blocks`, 0, -1)).map((x) => stringify(parse(x)))
    expect(list).toEqual(allBlocks(sim, target))
    const last = sim.chain.epochInfo(target)!.last
    expect(await t.redis.hgetall(`${t.prefix}status`)).toEqual({ last_block_hash: last.id, last_block_slot: String(last.slot) })
    expect((await t.redis.keys(`${t.prefix}*`)).sort()).toEqual([`${t.prefix}blocks`, `${t.prefix}blocks:next_epoch`, `${t.prefix}status`])
    expect(await t.redis.get(`${t.prefix}blocks:next_epoch`)).toBe(String(target + 1))

    // a rerun of the same window appends nothing again
    const rerun = await t.backfill(["--endpoint", sim.url, "--sink", "redis-list", "--start-epoch", "0"])
    expect(rerun.code, output(rerun)).toBe(0)
    expect(await t.redis.llen(`${t.prefix}blocks`)).toBe(list.length)

    // and a plain rerun (no --start-epoch) resumes after the list's cursor: nothing synced again
    const resumed = await t.backfill(["--endpoint", sim.url, "--sink", "redis-list"])
    expect(resumed.code, output(resumed)).toBe(0)
    expect(resumed.stderr).toContain(`No epochs to process: epochs up to ${target} are already delivered`)
    expect(resumed.stderr).not.toContain("was already appended")
    expect(await t.redis.llen(`${t.prefix}blocks`)).toBe(list.length)
  })

  it("jsonl to a file: every block once, in order, one line each; nothing in Redis", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    const file = join(t.dir, "blocks.jsonl")
    const run = await t.backfill(["--endpoint", sim.url, "--sink", "jsonl", "--output", file, "--concurrency", "2"])
    expect(run.code, output(run)).toBe(0)
    const lines = readFileSync(file, "utf8").split("\n")
    expect(lines.pop()).toBe("")
    expect(lines.map((l) => stringify(parse(l)))).toEqual(allBlocks(sim, target))
    expect(lines[0]).toBe(expectedEpoch(sim, 0)[0]) // compact, already in the wire format
    expect(await t.redis.keys(`${t.prefix}*`)).toEqual([])
  })

  it("cli: a table per batch with exact counts and a line per completed epoch", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    const run = await t.backfill(["--endpoint", sim.url, "--sink", "cli", "--batch-size", "10"])
    expect(run.code, output(run)).toBe(0)
    const titles = [...run.stdout.matchAll(/^epoch (\d+): (\d+) block\(s\), heights (\d+)–(\d+), \d+ transaction\(s\)$/gm)]
    for (let e = 0; e <= target; e++) {
      const info = sim.chain.epochInfo(e)!
      const mine = titles.filter((m) => Number(m[1]) === e)
      expect(mine.reduce((n, m) => n + Number(m[2]), 0), `epoch ${e}`).toBe(info.blocks)
      expect(mine.every((m) => Number(m[4]) - Number(m[3]) + 1 === Number(m[2]) && Number(m[2]) <= 10)).toBe(true)
      expect(Number(mine[0]![3])).toBe(info.firstHeight)
      expect(Number(mine.at(-1)![4])).toBe(info.lastHeight)
      expect(run.stdout).toContain(`epoch ${e} complete (last height ${info.lastHeight})`)
    }
    expect(await t.redis.keys(`${t.prefix}*`)).toEqual([])
  })

  it("--format ogmios writes the blocks untouched; hecate writes the reference wire format", async () => {
    const sim = await t.sim()
    const run = await t.backfill(["--endpoint", sim.url, "--end-epoch", "1", "--format", "ogmios"])
    expect(run.code, output(run)).toBe(0)
    for (const e of [0, 1]) {
      const got = (await t.readEpoch(e)).batches.flatMap((b) => b.blocks)
      expect(got).toEqual(expectedEpoch(sim, e, "ogmios"))
      const info = sim.chain.epochInfo(e)!
      // untouched: equal to what the simulator serves, issuer and all
      const served = Array.from({ length: info.blocks }, (_, i) => stringify(sim.chain.blockAt(info.firstHeight + i) as Block))
      expect(got).toEqual(served)
      const first = parse(got[0]!) as Record<string, unknown>
      expect(Object.keys(first)).toContain("issuer")
      expect(Object.keys(first)).toContain("id")
    }

    // the same epochs in the hecate format (a second namespace under the test's prefix)
    const other = `${t.prefix}h:`
    const run2 = await t.backfill(["--endpoint", sim.url, "--end-epoch", "1", "--redis-prefix", other])
    expect(run2.code, output(run2)).toBe(0)
    for (const e of [0, 1]) {
      const got = (await readEpoch(t.redis, other, e)).batches.flatMap((b) => b.blocks)
      expect(got).toEqual(expectedEpoch(sim, e, "hecate"))
      expect(got).not.toEqual(expectedEpoch(sim, e, "ogmios"))
      const keys = Object.keys(parse(got[0]!) as Record<string, unknown>)
      expect(keys).toEqual(["slot", "hash", "blocktype", "era", "ancestor", "nonce", "height", "size", "protocol", "transactions"])
    }
  })

  it("mainnet-shaped epochs 208–209 with the shipped CSV index: real boundary hashes verified, every block once", async () => {
    const sim = await t.sim({ port: 0, network: "mainnet-shaped", epochs: { from: 208, to: 209 }, meanBlockBytes: 600, emptyBlockRate: 0.3 })
    expect(lastFinalized(sim)).toBe(209)
    const run = await t.backfill(["--endpoint", sim.url, "--concurrency", "2"], { timeoutMs: 180_000 })
    expect(run.code, output(run)).toBe(0)
    expect(run.stderr).toContain("Backfilling epochs 208..209 (2 epochs, 43126 blocks)")
    expect(run.stderr).not.toContain("deriving") // the shipped CSVs were enough
    expect(await t.epochStreams()).toEqual([208, 209])
    const rows = {
      208: { blocks: 21556, endHeight: 4512066, endHash: "a0805ae8e52318f0e499be7f85d3f1d5c7dddeacdca0dab9e9d9a8ae6c49a22c", startHash: "aa83acbf5904c0edfe4d79b3689d3d00fcfc553cf360fd2229b98d464c28e9de" },
      209: { blocks: 21570, endHeight: 4533636, endHash: "4ddf277b3aff32931843da9f7900f5ef2fffed15b124891c485be4b3a06fca72", startHash: "cf8c63a909d91776e27f7d05457e823a9dba606a7ab499ac435e7904ee70d7c8" }
    } as const
    for (const e of [208, 209] as const) {
      const got = (await t.readEpoch(e)).batches.flatMap((b) => b.blocks)
      expect(got.length).toBe(rows[e].blocks)
      expect(got).toEqual(expectedEpoch(sim, e))
      expect((parse(got[0]!) as { hash: string }).hash).toBe(rows[e].startHash)
      expect((parse(got.at(-1)!) as { hash: string }).hash).toBe(rows[e].endHash)
    }
    expect(await t.readEvents()).toEqual([
      { type: "epoch_complete", epoch: "208", last_height: String(rows[208].endHeight) },
      { type: "epoch_complete", epoch: "209", last_height: String(rows[209].endHeight) }
    ])
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("209")
    expect(await t.redis.get(`${t.prefix}low_watermark`)).toBe("208")
  }, 240_000)
})
