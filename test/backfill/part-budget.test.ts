/** The part size of the staged batches: a memory budget shared by the epoch sessions, never under PART_BYTES. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PART_BUDGET_BYTES, PART_BYTES, partBytesFor } from "../../src/backfill/batch.js"
import { MAX_CONCURRENCY } from "../../src/config/settings.js"
import { propertyRuns } from "../../src/testing/index.js"

describe("partBytesFor", () => {
  it("shares the budget among the sessions, never under PART_BYTES, smaller as sessions are added", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_CONCURRENCY }), (sessions) => {
        const part = partBytesFor(sessions)
        expect(part).toBeGreaterThanOrEqual(PART_BYTES)
        expect(part * sessions <= PART_BUDGET_BYTES || part === PART_BYTES).toBe(true)
        expect(partBytesFor(sessions + 1)).toBeLessThanOrEqual(part)
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("gives a lone session the whole budget and four sessions a quarter each", () => {
    expect([1, 4].map(partBytesFor)).toEqual([PART_BUDGET_BYTES, PART_BUDGET_BYTES / 4])
  })
})
