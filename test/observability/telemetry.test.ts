/**
 * The Telemetry service: each layer owns its live state (two runs never share one), its throughput
 * sampler runs with the layer's scope and stops with it, and backfill progress reaches every
 * follower in order, metrics and live state first.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import type { BackfillProgress } from "../../src/backfill/backfill.js"
import { Telemetry } from "../../src/observability/Telemetry.js"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const batch = (epoch: number, blocks: number): BackfillProgress => ({ _tag: "EpochBatch", epoch, blocks }) as BackfillProgress

describe("Telemetry", () => {
  it.effect("two layers keep separate live states", () =>
    Effect.gen(function*() {
      const a = yield* Telemetry.make
      const b = yield* Telemetry.make
      a.publishProgress(batch(3, 10))
      a.live.observeBlocks("relay", 5, 100)
      assert.strictEqual(a.live.blocks, 15)
      assert.strictEqual(b.live.blocks, 0)
      assert.strictEqual(b.live.backfill.blocks, 0)
      yield* a.command("relay")
      assert.deepStrictEqual([...a.live.commands], ["backfill", "relay"])
      assert.deepStrictEqual([...b.live.commands], [])
    }).pipe(Effect.scoped))

  it.effect("the sampler samples every second while the layer's scope is open, and not after", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const telemetry = yield* Telemetry.make.pipe(Scope.provide(scope))
      yield* settle
      const first = telemetry.live.throughput.items.length
      assert.isAtLeast(first, 1)
      yield* TestClock.adjust("3 seconds")
      yield* settle
      assert.strictEqual(telemetry.live.throughput.items.length, first + 3)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.strictEqual(telemetry.live.throughput.items.length, first + 3)
    }))

  it.effect("every follower sees every event published after it subscribed, in order; caughtUp waits for them", () =>
    Effect.gen(function*() {
      const runs = fc.sample(fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 1_000 })), { maxLength: 200 }), 25)
      for (const events of runs) {
        yield* Effect.gen(function*() {
          const telemetry = yield* Telemetry.make
          telemetry.publishProgress(batch(1, 1)) // before anyone follows: no follower's
          const seen: Array<Array<number>> = [[], []]
          const followers = [
            yield* telemetry.followProgress((e) => void seen[0]!.push(e._tag === "EpochBatch" ? e.blocks : -1)),
            yield* telemetry.followProgress((e) => void seen[1]!.push(e._tag === "EpochBatch" ? e.blocks : -1))
          ]
          for (const [epoch, blocks] of events) telemetry.publishProgress(batch(epoch, blocks))
          yield* Effect.forEach(followers, (f) => f.caughtUp, { discard: true })
          const expected = events.map(([, blocks]) => blocks)
          assert.deepStrictEqual(seen[0], expected)
          assert.deepStrictEqual(seen[1], expected)
          // the live state counted every event, the one before the followers too
          assert.strictEqual(telemetry.live.backfill.blocks, 1 + expected.reduce((n, b) => n + b, 0))
        }).pipe(Effect.scoped)
      }
    }))
})
