import { describe, expect, it } from "vitest"
import type { Block } from "../../src/domain/block.js"
import { ResumePoints } from "../../src/ogmios/resumePoints.js"

const block = (height: number, branch = "a"): Block => ({
  type: "praos", era: "conway", id: `${branch}${height}`.padStart(64, "0"), ancestor: "x", height, slot: height * 2
})

describe("ResumePoints", () => {
  it("is dense near the tip, exponentially sparser behind it, and bounded", () => {
    const w = new ResumePoints({ dense: 16, maxDepth: 4320 })
    for (let h = 1; h <= 100_000; h++) w.forward(block(h))
    const heights = w.points().map((p) => (p === "origin" ? -1 : p.slot / 2))
    expect(heights[0]).toBe(100_000)
    // the newest 16 are all there
    expect(heights.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, i) => 100_000 - i))
    // newest first, strictly decreasing, gaps never shrink going back
    const gaps = heights.slice(1).map((h, i) => heights[i]! - h)
    expect(gaps.every((g) => g > 0)).toBe(true)
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]! / 2)
    expect(100_000 - heights.at(-1)!).toBeGreaterThan(2160) // reaches further back than k
    expect(100_000 - heights.at(-1)!).toBeLessThanOrEqual(4320 + 8)
    expect(heights.length).toBeLessThan(100)
  })

  it("follows rollbacks: truncates to a known point, or to the slot of one between sparse entries", () => {
    const w = new ResumePoints({ dense: 4 })
    for (let h = 1; h <= 200; h++) w.forward(block(h))
    w.backward({ slot: 198 * 2, id: block(198).id })
    expect(w.cursor).toEqual({ slot: 396, id: block(198).id })
    const sparse = w.points().map((p) => (p === "origin" ? -1 : p.slot / 2))
    const missing = [...Array(190).keys()].map((i) => i + 1).reverse().find((h) => !sparse.includes(h))!
    w.backward({ slot: missing * 2, id: block(missing).id })
    expect(w.cursor).toEqual({ slot: missing * 2, id: block(missing).id })
    expect(w.points().slice(1).every((p) => p !== "origin" && p.slot < missing * 2)).toBe(true)
    w.forward(block(missing + 1, "b"))
    expect(w.points()[0]).toEqual({ slot: (missing + 1) * 2, id: block(missing + 1, "b").id })
    w.backward("origin")
    expect(w.points()).toEqual(["origin"])
  })

  it("gives an EBB (no slot) the first slot of its Byron epoch", () => {
    const w = new ResumePoints()
    w.forward({ type: "bft", era: "byron", id: "a".repeat(64), ancestor: "x", height: 1, slot: 21_599 })
    w.forward({ type: "ebb", era: "byron", id: "b".repeat(64), ancestor: "a".repeat(64), height: 1 })
    expect(w.cursor).toEqual({ slot: 21_600, id: "b".repeat(64) })
  })
})
