/**
 * The relay pipeline (chainSync$ → reorg → RelayStore) in-process against the simulator and a
 * real Redis: live forks and dropped connections, a restart after the chain forked while the
 * relay was down, backpressure from a lagging consumer group, and fencing of a second producer.
 */
import { Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { caughtUp, expectCanonical, relayTestBed, sleep, startRelay, waitFor } from "./harness.js"
import { relayState } from "./support.js"

const bed = relayTestBed({ seed: "relay", securityParameter: 10, initialBlocks: 60, meanBlockBytes: 1024, maxRollback: 6 })
const { sim, prefix } = bed

describe("relay pipeline", () => {
  it("follows live forks and connection drops: events fold to the canonical chain, final is its prefix", async () => {
    const s = await sim({ blockIntervalMs: 15, forkRate: 0.25 })
    const p = prefix()
    const relay = startRelay(s, p)
    await sleep(700)
    s.faults.dropAfter(40)
    await sleep(700)
    s.faults.dropAfter(7)
    await sleep(700)
    s.live.stop()
    await caughtUp(bed.client, p, s)
    await relay.stop()
    const { chain, final, events } = await expectCanonical(bed.client, p, s)
    expect(chain.length).toBe(s.chain.length)
    expect(events.some((e) => e.type === "undo")).toBe(true)
    expect(final.length).toBe(s.chain.length - 10)
    const metrics = await bed.client.hgetall(`${p}metrics`)
    expect(Number(metrics["reconnects"])).toBeGreaterThanOrEqual(2)
  })

  it("relays a Byron devnet with 60-slot epochs: EBB entries carry their real points, through forks and drops", async () => {
    // EBB points are multiples of the network's Byron epoch length (60 here, not mainnet's 21600)
    const s = await sim({ era: "byron", epochLength: 60, activeSlotsCoefficient: 0.25, initialBlocks: 150, blockIntervalMs: 15, forkRate: 0.25 })
    const p = prefix()
    const relay = startRelay(s, p)
    await sleep(500)
    s.faults.dropAfter(25)
    await sleep(500)
    s.live.stop()
    await caughtUp(bed.client, p, s)
    await relay.stop()
    const { chain } = await expectCanonical(bed.client, p, s) // slots included
    const ebbs = chain.filter((b, i) => s.chain.isEbb(i) && b.slot % 60 === 0)
    expect(ebbs.length).toBeGreaterThan(5)
    expect(chain.length).toBe(s.chain.length)
  })

  it("a restart emits the undos of blocks that left the chain while it was down", async () => {
    const s = await sim()
    const p = prefix()
    let relay = startRelay(s, p)
    await caughtUp(bed.client, p, s)
    await relay.stop()
    const before = await relayState(bed.client, p)
    const tip = s.chain.length
    s.switchFork(4, 6)
    relay = startRelay(s, p, { from: "cursor" })
    await caughtUp(bed.client, p, s)
    await relay.stop()
    const after = await expectCanonical(bed.client, p, s)
    const fresh = after.events.slice(before.events.length)
    expect(fresh.slice(0, 4).map((e) => `${e.type}:${e.height}`)).toEqual(
      [tip - 1, tip - 2, tip - 3, tip - 4].map((h) => `undo:${h}`)
    )
    expect(fresh.slice(4).every((e) => e.type === "apply")).toBe(true)
    expect(fresh.length).toBe(10)
  })

  it("pauses while a consumer group lags, and resumes when it catches up", async () => {
    const s = await sim({ initialBlocks: 200 })
    const p = prefix()
    // a group registered before the relay starts, reading nothing yet
    await bed.client.xgroup("CREATE", `${p}events`, "slow", "0", "MKSTREAM")
    const relay = startRelay(s, p, { maxLag: 20, pollInterval: "20 millis" })
    await sleep(800)
    const paused = await bed.client.xlen(`${p}events`)
    expect(paused).toBeLessThanOrEqual(21 + 20)
    expect(await bed.client.hget(`${p}status`, "state")).toBe("paused")
    // the consumer drains; the relay follows to the tip
    const drain = async () => {
      for (;;) {
        const r = (await bed.client.xreadgroup("GROUP", "slow", "c", "COUNT", 50, "STREAMS", `${p}events`, ">")) as
          | Array<[string, Array<[string, Array<string>]>]>
          | null
        const entries = r?.[0]?.[1] ?? []
        if (entries.length > 0) await bed.client.xack(`${p}events`, "slow", ...entries.map((e) => e[0]))
        if (entries.length === 0) return
      }
    }
    await waitFor("the relay to reach the tip while the group drains", async () => {
      await drain()
      const last = (await bed.client.lrange(`${p}window`, -1, -1))[0]
      const tip = s.chain.tip()
      return tip !== "origin" && last?.split(" ")[2] === tip.id
    })
    await relay.stop()
    await expectCanonical(bed.client, p, s)
    expect(Number(await bed.client.hget(`${p}metrics`, "backpressure_pauses"))).toBeGreaterThanOrEqual(1)
  })

  it("a second relay on the same prefix fences the first one off", async () => {
    const s = await sim({ blockIntervalMs: 20 })
    const p = prefix()
    const first = startRelay(s, p)
    await waitFor("the first relay to write", async () => (await bed.client.xlen(`${p}events`)) > 0)
    const second = startRelay(s, p, { from: "cursor" })
    const exit = await Effect.runPromise(Fiber.await(first.fiber))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("RelayFenced")
    s.live.stop()
    await caughtUp(bed.client, p, s)
    await second.stop()
    await expectCanonical(bed.client, p, s)
  })
})

describe("relay when Redis loses its last writes", () => {
  it("re-relays from the stored cursor (RESYNC) and the streams stay exact", async () => {
    const s = await sim()
    const p = prefix()
    let relay = startRelay(s, p)
    await caughtUp(bed.client, p, s)
    await relay.stop()
    // what a Redis crash would keep: everything up to now
    const keys = await bed.client.keys(`${p}*`)
    const saved = await Promise.all(keys.map(async (k) => [k, await bed.client.dumpBuffer(k)] as const))
    relay = startRelay(s, p, { from: "cursor" })
    s.forge(5)
    await caughtUp(bed.client, p, s)
    // the crash: the last writes (and the new producer token) are gone, under the running relay
    for (const k of await bed.client.keys(`${p}*`)) await bed.client.del(k)
    for (const [k, v] of saved) if (v !== null) await bed.client.restore(k, 0, v, "REPLACE")
    s.switchFork(2, 4)
    await caughtUp(bed.client, p, s)
    await relay.stop()
    await expectCanonical(bed.client, p, s)
    expect(Number(await bed.client.hget(`${p}metrics`, "resyncs"))).toBe(1)
  })
})
