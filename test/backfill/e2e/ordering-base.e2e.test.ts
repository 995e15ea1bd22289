/**
 * The ordering-base rules and the purge below the window, through the CLI: refuse (exit 11),
 * rebase (--rebase-ordering-base) with its strict refusals (12: orphan, 13: consumer not
 * finished), --purge-orphans, and the non-blocking purge of a plain resume.
 */
import { describe, expect, it } from "vitest"
import {
  e2ePerTest,
  type E2e,
  expectedEpoch,
  lastFinalized,
  output
} from "../../support/backfill-e2e.js"

let t: E2e
e2ePerTest((fresh) => {
  t = fresh
})

const both = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr

describe("ordering base and purge (CLI)", () => {
  it("refuses an unreachable window (11); under --rebase-ordering-base refuses orphans (12) and unfinished consumers (13), then writes the gap off", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    const seed = await t.backfill(["--endpoint", sim.url, "--end-epoch", "1"])
    expect(seed.code, output(seed)).toBe(0)
    const seeded = await t.snapshot()

    // 11: epochs 2..3 were never delivered; nothing is written
    const refused = await t.backfill(["--endpoint", sim.url, "--start-epoch", "4"])
    expect(refused.code, output(refused)).toBe(11)
    expect(refused.stdout).toContain("Backfill incomplete:")
    expect(refused.stdout).toContain("never delivered here")
    expect(await t.snapshot()).toEqual(seeded)

    // 12 under rebase: epochs 0..1 are published and no consumer group ever registered for them
    const orphan = await t.backfill(["--endpoint", sim.url, "--start-epoch", "4", "--rebase-ordering-base"])
    expect(orphan.code, output(orphan)).toBe(12)
    expect(orphan.stdout).toContain("no consumer group has registered")
    expect(await t.snapshot()).toEqual(seeded)

    // 13 under rebase: a group has read epoch 0 and only part of epoch 1
    await t.consumeEpoch(0, "indexer")
    await t.readOneWithoutAck(1, "indexer")
    const unfinished = await t.backfill(["--endpoint", sim.url, "--start-epoch", "4", "--rebase-ordering-base"])
    expect(unfinished.code, output(unfinished)).toBe(13)
    expect(unfinished.stdout).toContain("unconsumed data with 1 active consumer group(s) (indexer)")
    expect(await t.epochStreams()).toEqual([0, 1])
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("1")

    // the consumer finishes: the rebase purges 0..1, moves the base to 3 and relays 4..target
    await t.consumeEpoch(1, "indexer")
    const rebased = await t.backfill(["--endpoint", sim.url, "--start-epoch", "4", "--rebase-ordering-base"])
    expect(rebased.code, output(rebased)).toBe(0)
    expect(both(rebased)).toContain("written off as out of scope")
    expect(both(rebased)).toContain("Rebasing the ordering base from 1 to 3")
    expect(await t.epochStreams()).toEqual(Array.from({ length: target - 3 }, (_, i) => i + 4))
    for (let e = 4; e <= target; e++) {
      expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks)).toEqual(expectedEpoch(sim, e))
    }
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(target))
    expect(await t.redis.get(`${t.prefix}low_watermark`)).toBe("4")
    expect((await t.readEvents()).map((e) => Number(e.epoch))).toEqual([0, 1, ...Array.from({ length: target - 3 }, (_, i) => i + 4)])
  })

  it("--purge-orphans lets a rebase drop published streams nobody registered for", async () => {
    const sim = await t.sim()
    const seed = await t.backfill(["--endpoint", sim.url, "--end-epoch", "1"])
    expect(seed.code, output(seed)).toBe(0)
    const run = await t.backfill(["--endpoint", sim.url, "--start-epoch", "3", "--end-epoch", "3", "--rebase-ordering-base", "--purge-orphans"])
    expect(run.code, output(run)).toBe(0)
    expect(both(run)).toContain("Purged orphaned epoch stream(s) nobody registered for: 0–1")
    expect(both(run)).toContain("written off as out of scope")
    expect(await t.epochStreams()).toEqual([3])
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("3")
    expect(await t.redis.get(`${t.prefix}low_watermark`)).toBe("3")
  })

  it("a plain resume never refuses (weak point 2): orphans and unfinished streams below the window are kept, or dropped with --purge-orphans", async () => {
    const sim = await t.sim()
    const seed = await t.backfill(["--endpoint", sim.url, "--end-epoch", "1"])
    expect(seed.code, output(seed)).toBe(0)

    // orphans 0..1 below the window: kept, the run goes on (the reference would exit 12)
    const resumed = await t.backfill(["--endpoint", sim.url, "--end-epoch", "2"])
    expect(resumed.code, output(resumed)).toBe(0)
    expect(resumed.stderr).toContain("epoch 0 and later delivered streams are still orphaned: kept for their consumers")
    expect(await t.epochStreams()).toEqual([0, 1, 2])

    // a group half-way through epoch 0 (the reference would exit 13): kept as well
    await t.readOneWithoutAck(0, "indexer")
    const again = await t.backfill(["--endpoint", sim.url, "--end-epoch", "3"])
    expect(again.code, output(again)).toBe(0)
    expect(again.stderr).toContain("epoch 0 and later delivered streams are still unfinished: kept for their consumers")
    expect(await t.epochStreams()).toEqual([0, 1, 2, 3])

    // --purge-orphans on a resume: the unfinished stream stops the purge (kept, logged), no refusal
    const purgeBlocked = await t.backfill(["--endpoint", sim.url, "--end-epoch", "4", "--purge-orphans"])
    expect(purgeBlocked.code, output(purgeBlocked)).toBe(0)
    expect(purgeBlocked.stderr).toContain("left epoch 0 below the window")
    expect(await t.epochStreams()).toEqual([0, 1, 2, 3, 4])

    // once the group is done, --purge-orphans drops everything below the window: consumed 0, orphans 1..4
    await t.consumeEpoch(0, "indexer")
    const purged = await t.backfill(["--endpoint", sim.url, "--end-epoch", "5", "--purge-orphans"])
    expect(purged.code, output(purged)).toBe(0)
    expect(purged.stderr).toContain("Purged orphaned epoch stream(s) nobody registered for: 1–4")
    expect(await t.epochStreams()).toEqual([5])
    expect(await t.redis.get(`${t.prefix}low_watermark`)).toBe("5")
    expect((await t.readEvents()).map((e) => e.epoch)).toEqual(["0", "1", "2", "3", "4", "5"])
  })
})
