import { Effect, Exit, Result, Stream } from "effect"
import { config, from, type OperatorFunction } from "rxjs"
import { describe, expect, it } from "vitest"
import { type Block, blockHeader } from "../../src/domain/block.js"
import { blockText, keepBlockText } from "../../src/domain/block-text.js"
import { type ChainSyncEvent, RollBackward } from "../../src/domain/chain-event.js"
import {
  InvalidResumeWindow,
  NonContiguousBlock,
  type ReorgEvent,
  RollbackTooDeep,
  UnknownRollbackPoint
} from "../../src/domain/reorg-event.js"
import {
  DEFAULT_DEPTH,
  finalPoint,
  initialState,
  reorg,
  reorgBatches,
  reorgStream,
  snapshot,
  step,
  stepOrThrow,
  tipPoint,
  windowSize
} from "../../src/streams/reorg.js"
import { testBlock, testPoint } from "../../src/testing/blocks.js"
import { back, chainOf, fwd, ids, runSteps } from "../testing/reorg-harness.js"

const main = chainOf(0, 8) // heights 0..7 on branch 0

describe("reorg step: forward and finality", () => {
  it("applies each block as it arrives and finalises it once `depth` blocks sit on top, in chain order", () => {
    const run = runSteps([back("origin"), ...main.slice(0, 5).map(fwd)], { depth: 2 })
    expect(run.batches.map(ids)).toEqual([
      [],
      ["Apply:0:0"],
      ["Apply:1:0"],
      ["Apply:2:0", "Final:0:0"],
      ["Apply:3:0", "Final:1:0"],
      ["Apply:4:0", "Final:2:0"]
    ])
    expect(run.window.blocks.map((b) => b.height)).toEqual([3, 4])
    expect(run.window.final).toEqual({ point: testPoint(main[2]!), height: 2 })
  })

  it("passes the tip of the RollForward through to the Apply, and the block by reference", () => {
    const event = fwd(main[0]!)
    const { out } = stepOrThrow(initialState({ depth: 3 }), event)
    expect(out).toEqual([{ _tag: "Apply", block: main[0], tip: event._tag === "RollForward" ? event.tip : null }])
    expect(out[0]!.block).toBe(main[0])
  })

  it("defaults to depth k = 2160 and rejects a negative depth", () => {
    expect(DEFAULT_DEPTH).toBe(2160)
    expect(initialState().depth).toBe(2160)
    expect(() => initialState({ depth: -1 })).toThrow(RangeError)
  })

  it("depth 0 finalises every block immediately after its apply", () => {
    const run = runSteps(main.slice(0, 2).map(fwd), { depth: 0 })
    expect(run.batches.map(ids)).toEqual([["Apply:0:0", "Final:0:0"], ["Apply:1:0", "Final:1:0"]])
  })
})

describe("reorg step: rollbacks", () => {
  it("the backward-first of a session is not a reorg: to origin on a fresh state, or to the newest block", () => {
    const run = runSteps([back("origin"), fwd(main[0]!), fwd(main[1]!), back(main[1]!)], { depth: 5 })
    expect(run.batches.map(ids)).toEqual([[], ["Apply:0:0"], ["Apply:1:0"], []])
  })

  it("undoes newest first, with the applied content, before the applies of the new branch", () => {
    const fork = chainOf(1, 2, main[2])
    const run = runSteps([...main.slice(0, 6).map(fwd), back(main[2]!), ...fork.map(fwd)], { depth: 10 })
    expect(run.batches.slice(6).map(ids)).toEqual([["Undo:5:0", "Undo:4:0", "Undo:3:0"], ["Apply:3:1"], ["Apply:4:1"]])
    const undos = run.batches[6]!
    expect(undos.map((e) => e.block)).toEqual([main[5], main[4], main[3]])
  })

  it("a rollback to the last final point undoes the whole window; one block further is RollbackTooDeep", () => {
    const events = [...main.slice(0, 6).map(fwd)] // depth 3: finals 0,1,2; window 3,4,5
    const ok = runSteps([...events, back(main[2]!)], { depth: 3 })
    expect(ok.batches.at(-1)!.map((e) => e.block.height)).toEqual([5, 4, 3])
    const deep = runSteps([...events, back(main[1]!)], { depth: 3 })
    expect(deep.error).toBeInstanceOf(RollbackTooDeep)
    expect(deep.error).toMatchObject({ _tag: "RollbackTooDeep", point: testPoint(main[1]!), depth: 4, windowDepth: 3, finalPoint: testPoint(main[2]!) })
    expect(deep.error!.message).toContain("too deep")
  })

  it("a rollback to origin undoes everything while nothing is final", () => {
    const run = runSteps([...main.slice(0, 3).map(fwd), back("origin"), fwd(testBlock(1, 0, "genesis"))], { depth: 3 })
    expect(run.batches.slice(3).map(ids)).toEqual([["Undo:2:0", "Undo:1:0", "Undo:0:0"], ["Apply:0:1"]])
  })

  it("a rollback to origin after a block was finalised fails with RollbackTooDeep naming origin and the full depth", () => {
    const run = runSteps([...main.slice(0, 5).map(fwd), back("origin")], { depth: 3 })
    expect(run.error).toMatchObject({ _tag: "RollbackTooDeep", point: "origin", depth: 5, windowDepth: 3 })
    expect(run.errorAt).toBe(5)
  })

  it("a rollback to a point that is not on the chain fails with UnknownRollbackPoint", () => {
    const stranger = testBlock(9, 3, main[2]!.id)
    const run = runSteps([...main.slice(0, 5).map(fwd), back(stranger)], { depth: 10 })
    expect(run.error).toBeInstanceOf(UnknownRollbackPoint)
    expect(run.error).toMatchObject({ point: testPoint(stranger), windowDepth: 5, finalPoint: "origin" })
  })

  it("leaves the state usable after a failed step (nothing changed)", () => {
    let state = initialState({ depth: 2 })
    for (const block of main.slice(0, 4)) state = stepOrThrow(state, fwd(block)).state
    const before = snapshot(state)
    const failed = step(state, back("origin"))
    expect(Result.isFailure(failed)).toBe(true)
    expect(snapshot(state)).toEqual(before)
    expect(stepOrThrow(state, back(main[2]!)).out.map((e) => e.block.height)).toEqual([3])
  })

  it("rejects a forward that does not extend the tip (NonContiguousBlock), unless checkAncestry is off", () => {
    const orphan = testBlock(3, 2, "f".repeat(64))
    const run = runSteps([fwd(main[0]!), fwd(main[1]!), fwd(orphan)], { depth: 5 })
    expect(run.error).toBeInstanceOf(NonContiguousBlock)
    expect(run.error).toMatchObject({ id: orphan.id, ancestor: orphan.ancestor, expectedAncestor: main[1]!.id })
    expect(runSteps([fwd(main[0]!), fwd(orphan)], { depth: 5, checkAncestry: false }).error).toBeUndefined()
  })

  it("a session starting at a point (not origin) adopts the intersection as its start point", () => {
    const run = runSteps([back(main[3]!), fwd(main[4]!), fwd(main[5]!), back(main[3]!), back("origin")], { depth: 5 })
    expect(run.batches.map(ids)).toEqual([[], ["Apply:4:0"], ["Apply:5:0"], ["Undo:5:0", "Undo:4:0"], []])
  })

  it("a rollback below a start point that is not final undoes what was applied and moves the start back", () => {
    // a relay started at the tip (main[3]) meets an ordinary shallow fork reaching below it
    const run = runSteps([back(main[3]!), fwd(main[4]!), fwd(main[5]!), back(main[2]!), fwd(main[3]!), fwd(main[4]!)], { depth: 5 })
    expect(run.error).toBeUndefined()
    expect(run.batches.map(ids)).toEqual([[], ["Apply:4:0"], ["Apply:5:0"], ["Undo:5:0", "Undo:4:0"], ["Apply:3:0"], ["Apply:4:0"]])
    expect(run.window?.final).toEqual({ point: testPoint(main[2]!), height: null, provisional: true })
    // the same from a persisted provisional start (a restarted relay that finalised nothing yet)
    const resumed = runSteps([back(main[3]!), back(main[1]!)], {
      depth: 5,
      resume: { final: { point: testPoint(main[3]!), height: 3, provisional: true }, blocks: [] }
    })
    expect(resumed.error).toBeUndefined()
    expect(resumed.window?.final.point).toEqual(testPoint(main[1]!))
    // once a block is final, nothing below it can be undone
    const deep = runSteps([back(main[2]!), fwd(main[3]!), fwd(main[4]!), fwd(main[5]!), back(main[1]!)], { depth: 2 })
    expect(deep.batches.flat().filter((e) => e._tag === "Final").length).toBe(1)
    expect(deep.error).toBeInstanceOf(RollbackTooDeep)
    // a point after the start that is not on the chain is still unknown
    const stranger = runSteps([back(main[3]!), fwd(main[4]!), back(main[6]!)], { depth: 5 })
    expect(stranger.error).toBeInstanceOf(UnknownRollbackPoint)
  })

  it("rejects a forward with the right parent but a height other than the parent's + 1 (NonContiguousBlock)", () => {
    const jumped = { ...main[2]!, height: 9 }
    const run = runSteps([fwd(main[0]!), fwd(main[1]!), fwd(jumped)], { depth: 5 })
    expect(run.error).toBeInstanceOf(NonContiguousBlock)
    expect(run.error).toMatchObject({ id: jumped.id, height: 9, expectedHeight: 2 })
    expect((run.error as Error).message).toContain(jumped.id)
    // an EBB shares its parent's height; the block after it is one higher
    const ebb = { ...testBlock(1, 0, main[0]!.id), type: "ebb" as const, height: 0 }
    const next = { ...testBlock(1, 0, ebb.id), id: "e".repeat(64), height: 1 }
    expect(runSteps([fwd(main[0]!), fwd(ebb), fwd(next)], { depth: 5 }).error).toBeUndefined()
  })

  it("throws when a consumed state is reused (the ring buffer is owned by the newest state)", () => {
    const s0 = initialState({ depth: 3 })
    stepOrThrow(s0, fwd(main[0]!))
    expect(() => step(s0, fwd(main[0]!))).toThrow(/reused/)
  })
})

describe("reorg step: resume from a persisted window", () => {
  const events = main.slice(0, 7).map(fwd) // depth 3: final 0..3, volatile 4,5,6
  const persisted = JSON.parse(JSON.stringify(runSteps(events, { depth: 3 }).window)) as ReturnType<typeof snapshot>

  it("snapshot holds exactly the volatile blocks (oldest first) and the last final point and height", () => {
    expect(persisted.blocks.map((b) => b.height)).toEqual([4, 5, 6])
    expect(persisted.final).toEqual({ point: testPoint(main[3]!), height: 3 })
  })

  it("after re-intersection at the newest block emits nothing, then continues finalising in order", () => {
    const run = runSteps([back(main[6]!), fwd(main[7]!)], { depth: 3, resume: persisted })
    expect(run.batches.map(ids)).toEqual([[], ["Apply:7:0", "Final:4:0"]])
  })

  it("after re-intersection at an older block (fork while away) emits the undos with the persisted content", () => {
    const run = runSteps([back(main[4]!), fwd(testBlock(1, 5, main[4]!.id))], { depth: 3, resume: persisted })
    expect(run.batches.map(ids)).toEqual([["Undo:6:0", "Undo:5:0"], ["Apply:5:1"]])
    expect(run.batches[0]!.map((e) => e.block)).toEqual([main[6], main[5]])
  })

  it("a re-intersection behind the persisted final point fails loudly", () => {
    const run = runSteps([back(main[1]!)], { depth: 3, resume: persisted })
    expect(run.error).toBeInstanceOf(RollbackTooDeep)
  })

  it("rejects a window holding more blocks than depth, or blocks that do not chain", () => {
    expect(() => initialState({ depth: 2, resume: persisted })).toThrow(InvalidResumeWindow)
    const broken = { ...persisted, blocks: [persisted.blocks[0]!, persisted.blocks[2]!] }
    expect(() => initialState({ depth: 3, resume: broken })).toThrow(/ancestor/)
  })
})

describe("reorg: memory and cost", () => {
  it("never holds more than depth blocks over a long chain with periodic rollbacks (depth 2160, 30,000 blocks)", () => {
    const depth = 2160
    let state = initialState({ depth })
    let tip: Block | undefined
    let branch = 0
    let maxWindow = 0
    let finals = 0
    let longest = 0
    const history: Array<Block> = []
    for (let i = 0; i < 30_000; i++) {
      if (i % 5000 === 4999) {
        const to = history[history.length - 1 - 100]!
        const out = stepOrThrow(state, back(to))
        state = out.state
        history.length -= 100
        tip = to
        branch++
        expect(out.out).toHaveLength(100)
      }
      const block = testBlock(branch, tip === undefined ? 0 : tip.height + 1, tip?.id ?? "genesis")
      const next = stepOrThrow(state, fwd(block))
      state = next.state
      finals += next.out.filter((e) => e._tag === "Final").length
      history.push(block)
      longest = Math.max(longest, history.length)
      tip = block
      maxWindow = Math.max(maxWindow, windowSize(state))
    }
    expect(maxWindow).toBe(depth)
    // finality follows the longest chain seen (the immutable tip), not the current tip
    expect(finals).toBe(longest - depth)
    expect(tipPoint(state)).toEqual(testPoint(tip!))
    expect(finalPoint(state)).toEqual(testPoint(history[longest - depth - 1]!))
  })
})

describe("reorg inside an Effect Stream (no RxJS)", () => {
  const events = [back("origin"), ...main.slice(0, 4).map(fwd), back(main[1]!)]

  it("works as a plain Stream.mapAccumEffect over step", async () => {
    const out = await Effect.runPromise(
      Stream.fromIterable(events).pipe(
        Stream.mapAccumEffect(
          () => initialState({ depth: 2 }),
          (state, event) => Effect.map(Effect.fromResult(step(state, event)), ({ state, out }) => [state, out] as const)
        ),
        Stream.runCollect
      )
    )
    expect(ids(out)).toEqual(["Apply:0:0", "Apply:1:0", "Apply:2:0", "Final:0:0", "Apply:3:0", "Final:1:0", "Undo:3:0", "Undo:2:0"])
  })

  it("reorgStream gives one batch per input and fails the stream with the typed error", async () => {
    const batches = await Effect.runPromise(Stream.fromIterable(events).pipe(reorgStream({ depth: 2 }), Stream.runCollect))
    expect(batches).toHaveLength(events.length)
    const exit = await Effect.runPromiseExit(
      Stream.fromIterable([...events, RollBackward("origin", "origin")]).pipe(reorgStream({ depth: 2 }), Stream.runCollect)
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = await Effect.runPromise(
      Stream.fromIterable([...events, RollBackward("origin", "origin")]).pipe(
        reorgStream({ depth: 2 }),
        Stream.runCollect,
        Effect.flip
      )
    )
    expect(failure).toBeInstanceOf(RollbackTooDeep)
    expect((failure as RollbackTooDeep).point).toBe("origin")
  })
})

export type { ReorgEvent }

describe("reorg operators: a malformed event errors the Observable (never RxJS's unhandled-error hook)", () => {
  it("reorg and reorgBatches error downstream on an event they cannot read", async () => {
    const unhandled: Array<unknown> = []
    const previous = config.onUnhandledError
    config.onUnhandledError = (e) => unhandled.push(e)
    try {
      const bad = { _tag: "RollForward", block: undefined } as unknown as ChainSyncEvent
      for (const operator of [reorg({ depth: 3 }), reorgBatches({ depth: 3 })] as const) {
        const seen = await new Promise<unknown>((resolve) =>
          from([fwd(main[0]!), bad]).pipe(operator as OperatorFunction<ChainSyncEvent, unknown>).subscribe({ error: resolve, complete: () => resolve("completed") })
        )
        expect(seen).toBeInstanceOf(TypeError)
      }
      await new Promise((r) => setTimeout(r, 10))
      expect(unhandled).toEqual([])
    } finally {
      config.onUnhandledError = previous
    }
  })
})


describe("reorg: what the window keeps (windowBlock)", () => {
  const fork = chainOf(1, 3, main[3])
  const events = [back("origin"), ...main.slice(0, 7).map(fwd), back(main[3]!), ...fork.map(fwd)]

  it("Apply carries the block itself, Undo and Final only what the window kept; the events are the same", () => {
    const full = runSteps(events, { depth: 3 })
    const kept = runSteps(events, { depth: 3, windowBlock: blockHeader })
    const points = (batch: ReadonlyArray<ReorgEvent>) => batch.map((e) => `${e._tag}:${e.block.height}:${e.block.id}`)
    expect(kept.batches.map(points)).toEqual(full.batches.map(points))
    const byTag = (tag: ReorgEvent["_tag"]) => kept.flat.filter((e) => e._tag === tag)
    expect(byTag("Undo").length).toBeGreaterThan(0)
    expect(byTag("Final").length).toBeGreaterThan(0)
    const original = new Map([...main, ...fork].map((b) => [b.id, b]))
    for (const e of byTag("Apply")) expect(e.block).toBe(original.get(e.block.id))
    for (const e of [...byTag("Undo"), ...byTag("Final")]) {
      expect(e.block).toEqual(blockHeader(original.get(e.block.id)!))
      expect(e.block["transactions"]).toBeUndefined()
    }
  })

  it("blockHeader keeps what places a block on the chain and drops its content, the text of a kept block included", () => {
    const block = main[2]!
    expect(blockHeader(block)).toEqual({ type: "praos", era: "conway", id: block.id, ancestor: block.ancestor, height: 2, slot: block.slot })
    const ebb = { type: "ebb", era: "byron", id: "e".repeat(64), ancestor: "genesis", height: 0 }
    expect(blockHeader(ebb)).toEqual(ebb) // no slot of its own: none made up
    const text = keepBlockText({ ...ebb }, { bytes: Buffer.from("{}"), members: [], transactions: [] })
    expect(blockText(text)).toBeDefined()
    expect(blockText(blockHeader(text))).toBeUndefined()
  })
})
