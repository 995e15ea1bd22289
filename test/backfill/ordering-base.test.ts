import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEpochStore } from "../../src/backfill/store/EpochStore.js"
import { decideOrderingBase } from "../../src/backfill/store/ordering-base.js"
import { testRedis } from "./redis-helpers.js"

describe("ordering-base rules (reference §3.2)", () => {
  it("seed, exact, narrow (incl. base == start), refuse, rebase", () => {
    expect(decideOrderingBase({ base: undefined, start: 208 })).toEqual({ _tag: "Seed", base: 207, start: 208 })
    expect(decideOrderingBase({ base: 207, start: 208 })).toEqual({ _tag: "Exact", base: 207, start: 208 })

    const narrow = decideOrderingBase({ base: 210, start: 208, end: 220 })
    expect(narrow).toMatchObject({ _tag: "Narrow", start: 211, requestedStart: 208, skipped: { from: 208, to: 210 }, empty: false })
    if (narrow._tag === "Narrow") {
      expect(narrow.warning.startsWith("Narrowing the window")).toBe(true)
      expect(narrow.warning).toContain("208–210")
      expect(narrow.warning).toContain("will not receive them again")
    }
    expect(decideOrderingBase({ base: 208, start: 208 })).toMatchObject({ _tag: "Narrow", start: 209, skipped: { from: 208, to: 208 } })
    expect(decideOrderingBase({ base: 215, start: 208, end: 212 })).toMatchObject({ _tag: "Narrow", start: 216, empty: true })

    const refuse = decideOrderingBase({ base: 207, start: 210 })
    expect(refuse._tag).toBe("Refuse")
    if (refuse._tag === "Refuse") {
      expect(refuse.error.exitCode).toBe(11)
      expect(refuse.error.message).toContain("never delivered here")
      expect(refuse.error.message).toContain("208–209")
    }
    const rebase = decideOrderingBase({ base: 207, start: 210, rebase: true })
    expect(rebase).toMatchObject({ _tag: "Rebase", base: 207, newBase: 209 })
    if (rebase._tag === "Rebase") expect(rebase.warning).toContain("written off as out of scope")
    // the rebase flag changes nothing when the window is reachable
    expect(decideOrderingBase({ base: 207, start: 208, rebase: true })._tag).toBe("Exact")
  })

  it.live("driven by ensureOrderingBase against Redis: seed then exact, narrow, refuse (nothing written), rebase", () =>
    Effect.gen(function*() {
      const t = yield* testRedis
      const store = makeEpochStore(t.conn, { prefix: t.prefix })
      const decide = (start: number, rebase = false) =>
        Effect.map(store.ensureOrderingBase(start - 1), ({ base, seeded }) =>
          decideOrderingBase({ base: seeded ? undefined : base, start, rebase }))

      expect(yield* decide(300)).toMatchObject({ _tag: "Seed", base: 299 })
      expect(yield* store.getLowWatermark()).toBe(300)
      expect(yield* decide(300)).toMatchObject({ _tag: "Exact" })
      yield* store.resetOrderingBase(305) // as if 300..305 were relayed
      expect(yield* decide(300)).toMatchObject({ _tag: "Narrow", start: 306 })
      const before = yield* store.status()
      expect(yield* decide(310)).toMatchObject({ _tag: "Refuse" })
      expect(yield* store.status()).toEqual(before)
      const rebase = yield* decide(310, true)
      expect(rebase).toMatchObject({ _tag: "Rebase", newBase: 309 })
      if (rebase._tag === "Rebase") yield* store.resetOrderingBase(rebase.newBase)
      expect(yield* decide(310)).toMatchObject({ _tag: "Exact" })
    }))
})
