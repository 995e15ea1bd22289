/**
 * The tip-distance chart's samples come from the same value as the tip card (/health's distance,
 * computed from the node's tip now), sampled by the server also while nobody requests anything:
 * with Ogmios unreachable the card says unknown and the samples have gaps, not the 0 of the last
 * write. In-process server, the test Redis, no Ogmios at all.
 */
import { Effect, Exit, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { healthCheckerAt } from "../support/redis-services.js"
import { observabilityServer } from "../../src/observability/http.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix, sleep } from "../relay/harness.js"
import { freePort } from "../support/free-port.js"

describe("the tip chart's samples", () => {
  it("with Ogmios unreachable: no distance on the card, gaps (no 0) in the samples", async () => {
    const scope = Effect.runSync(Scope.make())
    const telemetry = Effect.runSync(Telemetry.make.pipe(Scope.provide(scope)))
    const { live } = telemetry
    const saved = { ...live.relay }
    // the last write saw the relay at the node's tip: the old samples said 0 from then on
    Object.assign(live.relay, { connection: "reconnecting", lastHeight: 100, lastSlot: 2000, tipHeight: 100, tipSlot: 2000 })
    const health = healthCheckerAt({ redisUrl: TEST_REDIS_URL, live, endpoints: [`ws://127.0.0.1:${await freePort()}`], relayPrefix: newPrefix(), timeoutMs: 300 })
    try {
      const server = await Effect.runPromise(observabilityServer({ host: "127.0.0.1", port: 0, health }).pipe(Effect.provideService(Telemetry, telemetry), Scope.provide(scope)))
      const started = Date.now()
      await sleep(4_500) // the server samples on its own: nothing is requested meanwhile
      const state = (await (await fetch(`${server.url}/api/state`)).json()) as {
        tipDistance: { blocks?: number }
        throughput: Array<{ t: number; tipBlocks?: number }>
      }
      expect(state.tipDistance.blocks).toBeUndefined()
      const samples = state.throughput.filter((p) => p.t >= started + 2_500)
      expect(samples.length).toBeGreaterThan(0)
      expect(samples.map((p) => p.tipBlocks)).toEqual(samples.map(() => undefined))
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await health.close()
      Object.assign(live.relay, saved)
    }
  })
})
