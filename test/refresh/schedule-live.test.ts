// The scheduled refresh for real: a live simulator closing an epoch every ~0.5 s, the refresh on a
// 200 ms interval; the index keeps up with the finalized epochs and equals the chain's.
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { runRefreshJob, type RefreshReport } from "../../src/refresh/job.js"
import { OgmiosConnector } from "../../src/services/OgmiosConnector.js"
import { describeRefresh } from "../../src/refresh/refresh.js"
import { makeRefreshScheduler } from "../../src/refresh/schedule.js"
import { expectedLastFinal, expectedRow, SHORT_EPOCHS, simulator, tempDir, textOf } from "./support.js"

describe("refresh schedule (real time, simulator)", () => {
  it.live("follows a live chain on a 200 ms interval, recording only final epochs", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ ...SHORT_EPOCHS, blockIntervalMs: 5 })
      const dir = yield* tempDir()
      const cachePath = join(dir, "cache.json")
      const job = runRefreshJob({ dataDir: dir, cachePath }).pipe(Effect.provide(OgmiosConnector.layerSettings({ ogmiosEndpoints: [sim.url] })))
      const scheduler = yield* makeRefreshScheduler(job, {
        trigger: { _tag: "Interval", every: "200 millis" },
        runOnStart: true,
        describe: (r) => describeRefresh((r as RefreshReport).result)
      })
      const startEpoch = sim.chain.currentEpoch()
      const fiber = yield* Effect.forkChild(scheduler.run)
      yield* Effect.sleep("3500 millis")
      sim.live.stop()
      yield* Effect.sleep("600 millis") // let a last run see the stopped chain
      yield* Fiber.interrupt(fiber)

      const status = yield* scheduler.status
      expect(status.failed).toBe(0)
      expect(status.succeeded).toBeGreaterThanOrEqual(5)
      expect(sim.chain.currentEpoch()).toBeGreaterThanOrEqual(startEpoch + 4)
      const cached = JSON.parse(yield* textOf(cachePath)) as { networks: Record<string, Record<string, { boundary: { end_hash: string }; blocks: number }>> }
      const rows = Object.values(cached.networks)[0]!
      const epochs = Object.keys(rows).map(Number)
      const lastFinal = expectedLastFinal(sim, 20)
      expect(Math.max(...epochs)).toBe(lastFinal)
      expect(epochs).toEqual(Array.from({ length: lastFinal + 1 }, (_, e) => e))
      for (const e of epochs) {
        expect(rows[String(e)]!.blocks).toBe(expectedRow(sim, e).blocks)
        expect(rows[String(e)]!.boundary.end_hash).toBe(expectedRow(sim, e).endHash)
      }
    }), 60_000)
})
