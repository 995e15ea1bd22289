/**
 * Failure paths of `hecate backfill` through the CLI: an endpoint that keeps failing exhausts the
 * retries (exit 10), a dead first endpoint fails over to a live one, a second producer on the same
 * prefix is refused (exit 15), and an epoch that does not end where the epoch index says fails
 * verification (exit 10) without being committed.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  e2ePerTest,
  type E2e,
  expectedEpoch,
  lastFinalized,
  output,
  sleep
} from "../../support/backfill-e2e.js"
import { deadEndpointUrl } from "../../support/dead-endpoint.js"

let t: E2e
e2ePerTest((fresh) => {
  t = fresh
})


describe("backfill failure paths (CLI)", () => {
  it("an endpoint that drops every connection exhausts the retries: exit 10, nothing committed", async () => {
    const sim = await t.sim()
    await t.deriveIndex(sim.url, 2)
    sim.faults.dropAfter(1, { repeat: true }) // every connection is cut after one frame
    const run = await t.backfill(["--endpoint", sim.url, "--end-epoch", "2", "--retries", "2"], { timeoutMs: 90_000 })
    expect(run.code, output(run)).toBe(10)
    expect(run.stdout).toMatch(/Backfill incomplete: 1 epoch\(s\) failed after retries: 0 /)
    expect(run.stderr).toMatch(/epoch 0: attempt 1\/3 failed/)
    expect(run.stderr).toMatch(/epoch 0: attempt 2\/3 failed/)
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("-1") // seeded, nothing delivered
    expect(await t.readEvents()).toEqual([])

    // the endpoint recovers: the same command resumes and completes
    sim.faults.clear()
    const rerun = await t.backfill(["--endpoint", sim.url, "--end-epoch", "2"])
    expect(rerun.code, output(rerun)).toBe(0)
    for (let e = 0; e <= 2; e++) {
      expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks)).toEqual(expectedEpoch(sim, e))
    }
  })

  it("fails over: the first endpoint refuses connections, the second serves every epoch", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    const run = await t.backfill(["--endpoint", await deadEndpointUrl(), "--endpoint", sim.url, "--concurrency", "2"])
    expect(run.code, output(run)).toBe(0)
    expect(await t.epochStreams()).toEqual(Array.from({ length: target + 1 }, (_, e) => e))
    for (let e = 0; e <= target; e++) {
      expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
    }
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(target))
  })

  it("a refused connection on every endpoint is retried, then Ogmios unavailable (exit 10) naming the endpoint", async () => {
    const dead = await deadEndpointUrl()
    const run = await t.backfill(["--endpoint", dead])
    expect(run.code, output(run)).toBe(10)
    expect(run.stdout).toContain("Backfill incomplete: Ogmios unavailable:")
    expect(run.stdout).toContain(dead)
    expect(await t.redis.keys(`${t.prefix}*`)).toEqual([])
  })

  it("refuses a second producer on the same prefix (exit 15) while the first runs; the first completes", async () => {
    const sim = await t.sim()
    const target = lastFinalized(sim)
    sim.faults.delay(10)
    const first = t.backfill(["--endpoint", sim.url, "--in-flight", "1", "--concurrency", "1"])
    for (let i = 0; i < 400 && (await t.redis.get(`${t.prefix}producer_lock`)) === null; i++) await sleep(25)
    const holder = await t.redis.get(`${t.prefix}producer_lock`)
    expect(holder).not.toBeNull()

    const second = await t.backfill(["--endpoint", sim.url])
    expect(second.code, output(second)).toBe(15)
    expect(second.stdout).toContain(`another backfill (${holder}) is writing to ${t.prefix}`)
    expect(await t.redis.get(`${t.prefix}producer_lock`)).toBe(holder) // not stolen

    const done = await first
    expect(done.code, output(done)).toBe(0)
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(target))
    expect(await t.redis.get(`${t.prefix}producer_lock`)).toBeNull()
  })

  it("an epoch that does not end where the epoch index says fails verification (exit 10) and is not committed", async () => {
    const sim = await t.sim()
    await t.deriveIndex(sim.url, 3)
    // corrupt the cached row of epoch 3: a well-formed but wrong last-block hash
    const cache = JSON.parse(readFileSync(t.cachePath, "utf8")) as { networks: Record<string, Record<string, { boundary: { end_hash: string } }>> }
    const network = Object.keys(cache.networks)[0]!
    cache.networks[network]!["3"]!.boundary.end_hash = "ab".repeat(32)
    writeFileSync(t.cachePath, JSON.stringify(cache))

    const run = await t.backfill(["--endpoint", sim.url, "--end-epoch", "3"])
    expect(run.code, output(run)).toBe(10)
    expect(run.stdout).toContain("1 epoch(s) failed after retries: 3")
    expect(run.stdout).toContain("epoch 3 failed verification: its last block's hash is")
    expect(run.stdout).toContain("ab".repeat(32))
    // the healthy epochs were committed, epoch 3 was not published
    expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe("2")
    expect((await t.readEvents()).map((e) => e.epoch)).toEqual(["0", "1", "2"])
  })
})
