/**
 * Grouped catch-up writes survive a crash anywhere: the relay catches up from origin on an
 * in-memory chain-sync source into a real Redis store, writing several chain-sync messages per
 * atomic write, while the node forges blocks just ahead of it and the chain forks under it
 * (rollbacks land inside grouped writes), and the
 * process "dies" at a chosen write, before it reached Redis or after Redis committed it and
 * before the reply came back (nothing more is sent either way). Each restart claims the prefix
 * and resumes from the stored cursor. At the end the stored `events` fold to exactly the chain,
 * undos mirror their applies, and `final` holds every block at least `depth` deep once, in order:
 * no gap and no duplicate.
 */
import { fc } from "@fast-check/vitest"
import { Effect, Fiber, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { relay } from "../../src/relay/relay.js"
import { makeRelayStore, RelayStore, type RelayStoreShape } from "../../src/relay/RelayStore.js"
import { MemoryChain } from "../../src/testing/memory-chain.js"
import { propertyRuns } from "../../src/testing/index.js"
import { deleteByPrefix } from "../backfill/redis-helpers.js"
import { sleep } from "./harness.js"
import { relayRedis } from "./redis-connection.js"
import { foldEntries, relayState } from "./support.js"

const redis = relayRedis("hecate-test-batched-crash")

interface Crash {
  /** the write call of the incarnation at which the process dies */
  readonly at: number
  /** true: Redis committed the write, the reply was lost; false: it never reached Redis */
  readonly committed: boolean
  /** a fork while the relay is down: blocks dropped and blocks of the new branch */
  readonly forkWhileDown: { readonly depth: number; readonly length: number } | undefined
}

interface Plan {
  /** blocks on the chain when the relay starts */
  readonly start: number
  /** blocks the node forges at each write call, until the chain holds `length` (the relay stays near the tip) */
  readonly grow: number
  readonly length: number
  readonly depth: number
  readonly maxBatchOps: number
  /** forks under the running relay, at the nth write call of the whole run */
  readonly forks: ReadonlyArray<{ readonly at: number; readonly depth: number; readonly length: number }>
  readonly crashes: ReadonlyArray<Crash>
}

const planArbitrary: fc.Arbitrary<Plan> = fc.integer({ min: 2, max: 6 }).chain((depth) =>
  fc.record({
    start: fc.integer({ min: 1, max: 30 }),
    grow: fc.integer({ min: 1, max: 4 }),
    length: fc.integer({ min: 30, max: 90 }),
    depth: fc.constant(depth),
    maxBatchOps: fc.integer({ min: 2, max: 64 }),
    forks: fc.array(fc.record({ at: fc.integer({ min: 1, max: 25 }), depth: fc.integer({ min: 1, max: depth }), length: fc.integer({ min: 1, max: 6 }) }), { maxLength: 3 }),
    crashes: fc.array(
      fc.record({
        at: fc.integer({ min: 1, max: 12 }),
        committed: fc.boolean(),
        forkWhileDown: fc.option(fc.record({ depth: fc.integer({ min: 1, max: depth }), length: fc.integer({ min: 1, max: 6 }) }), { nil: undefined })
      }),
      { minLength: 1, maxLength: 3 }
    )
  })
)

/** Writes that held more than one chain-sync message, and those with a rollback inside, over all runs. */
const seen = { grouped: 0, rollbackInGroup: 0, crashes: 0 }

const runPlan = async (plan: Plan) => {
  const prefix = redis.prefix()
  const client = redis.client()
  const chain = new MemoryChain({ length: plan.start, k: plan.depth })
  const base = makeRelayStore(redis.conn(), { prefix })
  let calls = 0 // write calls of the whole run, for the forks
  const forks = [...plan.forks]
  const tipReached = async () => (await client.lindex(`${prefix}window`, -1))?.split(" ")[2] === chain.blocks.at(-1)!.id

  const incarnation = async (crash: Crash | undefined, first: boolean) => {
    let mine = 0
    let died!: () => void
    const dead = new Promise<void>((resolve) => (died = resolve))
    let down = false
    let pending = 0 // writes in flight
    const store: RelayStoreShape = {
      ...base,
      write: (seq, producer, ops, tip) =>
        Effect.suspend(() => {
          if (down) return Effect.never
          calls++
          mine++
          pending++
          if (chain.blocks.length < plan.length) chain.extend(plan.grow)
          // a fork while two writes are in flight: its rollback queues behind them, grouped with what follows
          if (forks.length > 0 && forks[0]!.at <= calls && pending >= 2) {
            const f = forks.shift()!
            chain.fork(f.depth, f.length)
          }
          // a Redis round trip of a few ms, so chain-sync messages queue behind the writes in flight
          const send = Effect.sleep("2 millis").pipe(
            Effect.andThen(base.write(seq, producer, ops, tip)),
            Effect.ensuring(Effect.sync(() => pending--))
          )
          if (crash !== undefined && mine === crash.at) {
            down = true
            // the process dies with this write sent (Redis commits it, the reply is lost) or unsent
            const reached = crash.committed ? Effect.exit(send) : Effect.void
            return reached.pipe(Effect.andThen(Effect.sync(died)), Effect.andThen(Effect.never))
          }
          return send
        })
    }
    const fiber = Effect.runFork(
      relay({
        source: chain.source,
        ...(first ? { from: "origin" as const } : {}),
        inFlight: 16,
        maxBatchOps: plan.maxBatchOps,
        onWrite: ({ events }) => {
          const messages = events.filter((e) => e._tag !== "Final").length
          if (messages > 1) seen.grouped++
          if (messages > 1 && events.some((e) => e._tag === "Undo") && events.some((e) => e._tag === "Apply")) seen.rollbackInGroup++
        }
      }).pipe(Effect.provide(Layer.mergeAll(chain.ogmios(), Layer.succeed(RelayStore, store))))
    )
    // until the process dies, or it is at the tip with no fork left to come
    let crashed = false
    void dead.then(() => (crashed = true))
    const deadline = Date.now() + 30_000
    for (;;) {
      if (crashed) break
      if (await tipReached()) {
        // at the tip no write comes to forge the next blocks or trigger the next fork: they happen now
        if (chain.blocks.length < plan.length) chain.extend(plan.grow)
        else if (forks.length > 0) {
          const f = forks.shift()!
          chain.fork(f.depth, f.length)
        } else break
      }
      if (Date.now() > deadline) {
        throw new Error(`no progress: ${JSON.stringify(plan)} ${JSON.stringify({ cursor: await client.hgetall(`${prefix}cursor`), status: await client.hgetall(`${prefix}status`), window: await client.lrange(`${prefix}window`, 0, -1), chain: chain.blocks.map((b) => `${b.height} ${b.id.slice(0, 8)}`), sessions: chain.sessions })}`)
      }
      await sleep(10)
    }
    await Effect.runPromise(Fiber.interrupt(fiber)) // the kill
    if (crashed) {
      seen.crashes++
      if (crash?.forkWhileDown !== undefined) chain.fork(crash.forkWhileDown.depth, crash.forkWhileDown.length)
    }
    return crashed
  }

  let first = true
  for (const crash of plan.crashes) {
    await incarnation(crash, first)
    first = false
  }
  await incarnation(undefined, first)

  const { events, final } = await relayState(client, prefix)
  const folded = foldEntries(events) // throws on an undo that is not the tip or differs from its apply
  expect(folded.map((e) => e.hash)).toEqual(chain.blocks.map((b) => b.id))
  expect(new Set(events.filter((e) => e.type === "apply").map((e) => e.id)).size).toBe(events.filter((e) => e.type === "apply").length)
  // final: a prefix of the chain, each block once, up to at least `depth` below the tip (a fork
  // that shortened the chain leaves what was final before it final)
  expect(final.map((e) => e.hash)).toEqual(chain.blocks.slice(0, final.length).map((b) => b.id))
  expect(final.length).toBeGreaterThanOrEqual(chain.blocks.length - plan.depth)
  await deleteByPrefix(client, prefix)
}

describe("relay: grouped catch-up writes and crashes", () => {
  it("property: a relay killed at any write of a grouped catch-up, before or after Redis committed it, resumes with no gap and no duplicate, forks included", async () => {
    await fc.assert(fc.asyncProperty(planArbitrary, runPlan), { numRuns: propertyRuns(20), seed: 1415, endOnFailure: true })
    // the property ran over grouped writes, with rollbacks inside them, and crashes did happen
    expect(seen.grouped).toBeGreaterThan(0)
    expect(seen.rollbackInGroup).toBeGreaterThan(0)
    expect(seen.crashes).toBeGreaterThan(0)
  }, 300_000)
})
