// The example of docs/testing-kit.md, verbatim (imports adjusted to source paths): a user's own
// consumer (a block "table" fed by the reorg operator, persisted with the window) property-tested
// with the kit. Keep the two in sync.
import { test } from "vitest"
import type { Block } from "../../src/domain/block.js"
import { initialState, snapshot, stepOrThrow, type VolatileWindow } from "../../src/streams/reorg.js"
import { checkConsumer } from "../../src/testing/index.js"

// --- docs/testing-kit.md example starts here ---
test("my block table follows every fork, rollback and restart", async () => {
  await checkConsumer(({ depth, resume }) => {
    const saved = resume as { window: VolatileWindow; rows: Block[] } | undefined
    const rows = saved?.rows ?? [] // the user's "table": the current chain
    let state = initialState({ depth, ...(saved ? { resume: saved.window } : {}) })
    return {
      push: (event) => {
        const { state: next, out } = stepOrThrow(state, event)
        state = next
        for (const e of out) e._tag === "Apply" ? rows.push(e.block) : e._tag === "Undo" ? rows.pop() : undefined
        return out
      },
      persist: () => ({ window: snapshot(state), rows }), // written atomically, in real life
      chain: () => rows
    }
  }, { depth: 5, numRuns: 200 })
})
// --- example ends here ---

test("control: the same table that forgets to pop on Undo is caught", async () => {
  const { expect } = await import("vitest")
  const run = checkConsumer(({ depth }) => {
    const rows: Block[] = []
    let state = initialState({ depth })
    return {
      push: (event) => {
        const { state: next, out } = stepOrThrow(state, event)
        state = next
        for (const e of out) if (e._tag === "Apply") rows.push(e.block)
        return out
      },
      chain: () => rows
    }
  }, { depth: 5, numRuns: 200, seed: 7 })
  await expect(run).rejects.toThrow(/sameChain: after op #\d+: the consumer's chain/)
})
