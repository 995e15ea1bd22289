/**
 * /health while the relay waits for a node that is behind its cursor (restarted from an older
 * state): the distance is unknown, not "0 blocks behind the tip"; the body and the reason name both
 * heights and the code is 202. The checker runs in-process against a real simulator (whose tip is
 * below the relay's position) and the test Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { healthCheckerAt } from "../support/redis-services.js"
import { LiveState } from "../../src/observability/metrics.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix } from "../relay/harness.js"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: "health-node-behind", securityParameter: 5, initialBlocks: 10, meanBlockBytes: 256 })
})
afterAll(async () => {
  await sim?.stop()
})

describe("/health with the node behind the relay", () => {
  it("reports waiting for the node with both heights (202), no distance of 0", async () => {
    const live = new LiveState()
    const checker = healthCheckerAt({ redisUrl: TEST_REDIS_URL, live, endpoints: [sim.url], relayPrefix: newPrefix(), timeoutMs: 3_000 })
    const saved = { ...live.relay }
    try {
      Object.assign(live.relay, { connection: "waiting for the node", nodeTipHeight: 9, lastHeight: 40, lastSlot: 800, tipHeight: 40, tipSlot: 800 })
      const h = await Effect.runPromise(checker.check)
      expect(h.body.ogmios.reachable).toBe(true)
      const nodeTip = h.body.ogmios.tipHeight!
      expect(nodeTip).toBeLessThan(40)
      expect(h.status).toBe(202)
      expect(h.body.tipDistance.blocks).toBeUndefined()
      expect(h.body.tipDistance.waitingForNode).toEqual({ nodeTipHeight: nodeTip, height: 40 })
      expect(h.body.reasons).toContain(`waiting for the node to catch up: node tip height ${nodeTip}, relay at height 40`)

      // following again: a distance, no waiting
      Object.assign(live.relay, { connection: "following", lastHeight: nodeTip, tipHeight: nodeTip })
      const ok = await Effect.runPromise(checker.check)
      expect(ok.body.tipDistance.waitingForNode).toBeUndefined()
      expect(ok.body.tipDistance.blocks).toBe(0)
    } finally {
      Object.assign(live.relay, saved)
      await checker.close()
    }
  })
})
