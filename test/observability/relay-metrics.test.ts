// /metrics of the relay command (built CLI) following a simulator in live mode with forks: the
// rollback counter and depth histogram match the forks the simulator produced, blocks relayed match
// the applies in Redis, reconnects are counted per endpoint, and SIGINT records the run Cancelled.
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ROLLBACK_DEPTH_BOUNDARIES } from "../../src/observability/metrics.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, newPrefix, waitFor } from "../relay/harness.js"
import { runCli } from "../support/cli.js"
import { httpUrlOf, scrape, startCli, value } from "./support.js"

describe("observability of the relay", () => {
  let sim: SimulatorHandle
  let client: IORedis
  const prefix = newPrefix()
  const runsPrefix = newPrefix()
  beforeAll(async () => {
    sim = await startSimulator({
      port: 0,
      network: "custom",
      securityParameter: 20,
      initialBlocks: 150,
      meanBlockBytes: 512,
      forkRate: 0.45,
      maxRollback: 8,
      rollbackDistribution: "uniform"
    })
    client = new IORedis(TEST_REDIS_URL)
  })
  afterAll(async () => {
    await deleteByPrefix(client, prefix)
    await deleteByPrefix(client, runsPrefix)
    client.disconnect()
    await sim.stop()
  })

  it("rollback counter and depth histogram match the simulator's forks; blocks, tip distance, reconnects per endpoint", async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, HECATE_RUNS_PREFIX: runsPrefix }
    const running = startCli(["relay", "--from", "origin", "--depth", "20", "--endpoint", sim.url, "--redis-prefix", prefix, "--http-port", "0"], env)
    const base = await httpUrlOf(running)
    await caughtUp(client, prefix, sim, 30_000)
    const before = await scrape(base)
    expect(value(before, "hecate_rollbacks_total")).toBe(0)
    expect(value(before, `hecate_blocks_relayed_total{command="relay"}`)).toBe(150)

    // live production, one step at a time, the relay at the tip before each step
    const forks: Array<number> = []
    for (let i = 0; i < 40; i++) {
      const depth = sim.live.tick()
      if (depth > 0) forks.push(depth)
      await caughtUp(client, prefix, sim, 20_000)
    }
    expect(forks.length).toBeGreaterThan(5)
    expect(new Set(forks).size).toBeGreaterThan(2)

    // a dropped connection: one reconnect, counted for the endpoint
    sim.faults.dropAfter(1)
    sim.forge(1)
    await caughtUp(client, prefix, sim, 20_000)
    sim.faults.clear()
    sim.forge(1)
    await caughtUp(client, prefix, sim, 20_000)

    let m = await scrape(base)
    await waitFor("the metrics to settle", async () => {
      m = await scrape(base)
      return value(m, "hecate_tip_distance_blocks") === 0 && value(m, `hecate_reconnects_total{endpoint="${sim.url}"}`) >= 1
    }, 10_000)
    expect(value(m, "hecate_rollbacks_total")).toBe(forks.length)
    expect(value(m, "hecate_rollback_depth_count")).toBe(forks.length)
    expect(value(m, "hecate_rollback_depth_sum")).toBe(forks.reduce((a, b) => a + b, 0))
    for (const le of ROLLBACK_DEPTH_BOUNDARIES) {
      expect(value(m, `hecate_rollback_depth_bucket{le="${le}"}`), `bucket le=${le}`).toBe(forks.filter((d) => d <= le).length)
    }
    expect(value(m, `hecate_rollback_depth_bucket{le="+Inf"}`)).toBe(forks.length)

    // the relay's Redis counters (its metrics hash) agree with the Prometheus ones
    const hash = await client.hgetall(`${prefix}metrics`)
    expect(Number(hash["rollbacks"])).toBe(forks.length)
    expect(Number(hash["undos"])).toBe(forks.reduce((a, b) => a + b, 0))
    expect(value(m, `hecate_blocks_relayed_total{command="relay"}`)).toBe(Number(hash["applies"]))
    expect(value(m, `hecate_bytes_relayed_total{command="relay"}`)).toBeGreaterThan(0)
    expect(value(m, `hecate_redis_write_seconds_count{command="relay"}`)).toBe(Number(hash["writes"]))
    expect(value(m, "hecate_reconnects_total{endpoint=\"" + sim.url + "\"}")).toBeGreaterThanOrEqual(1)
    expect(value(m, "hecate_tip_distance_slots")).toBe(0)
    expect(m.has(`hecate_consumer_group_lag{command="relay"}`)).toBe(true)
    expect(value(m, "hecate_backpressure_paused_seconds_total")).toBe(0)
    expect(m.get("hecate_backpressure_paused")).toBe(0)

    // the dashboard's state carries the recent rollbacks
    const state = (await (await fetch(`${base}/api/state`)).json()) as {
      rollbacks: Array<{ depth: number }>
      rollbacksTotal: number
      relay: { consumerGroups?: number; lag?: number }
    }
    expect(state.rollbacksTotal).toBe(forks.length)
    expect(state.rollbacks.map((r) => r.depth)).toEqual(forks.slice(-50))
    // no consumer group reads events / final: no lag is claimed (the page says "no consumer groups")
    expect(state.relay.consumerGroups).toBe(0)
    expect(state.relay.lag).toBeUndefined()
    // with one, the lag is the relay's
    await client.xgroup("CREATE", `${prefix}events`, "late-reader", "0")
    await waitFor("the group to show", async () => {
      const s = (await (await fetch(`${base}/api/state`)).json()) as { relay: { consumerGroups?: number; lag?: number } }
      return s.relay.consumerGroups === 1 && typeof s.relay.lag === "number"
    })

    // /health: following
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)

    running.child().kill("SIGINT")
    const done = await running.done
    expect(done.code).toBe(130)
    const runId = /relay run started  run=([0-9a-z]+-[0-9a-f]{6}) command=relay/.exec(running.output())?.[1]
    const shown = JSON.parse((await runCli(["runs", "show", runId!, "--json"], { env })).stdout) as { state: string; blocks: number }
    expect(shown.state).toBe("Cancelled")
    expect(shown.blocks).toBe(Number(hash["applies"]))
  }, 150_000)
})
