/**
 * The in-flight window of the backfill's epoch sessions: the run's window (`--in-flight`) shared by
 * the sessions running at once, so concurrency 4 holds no more replies in flight than concurrency 1.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { sessionInFlight } from "../../src/backfill/backfill.js"
import { MAX_CONCURRENCY } from "../../src/config/settings.js"
import { propertyRuns } from "../../src/testing/index.js"

describe("sessionInFlight", () => {
  it("shares the window: all sessions together hold the window, rounded up by less than a request each, at least one each", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: MAX_CONCURRENCY }), (inFlight, concurrency) => {
        const each = sessionInFlight(inFlight, concurrency)
        expect(each).toBeGreaterThanOrEqual(1)
        expect(each * concurrency).toBeGreaterThanOrEqual(inFlight)
        expect(each * concurrency).toBeLessThan(Math.max(inFlight, concurrency) + concurrency)
      }),
      { numRuns: propertyRuns(1000) }
    )
  })

  it("keeps the whole window at concurrency 1 and splits the default 100 at 2 and 4", () => {
    expect([1, 2, 4].map((c) => sessionInFlight(100, c))).toEqual([100, 50, 25])
  })
})
