/**
 * The consumer over a relay only (in-process relay on a forking simulator): the checked fold of
 * `consume$` is the simulator's canonical chain, undos and finals included; a consumer restarted
 * mid-way (unsubscribed with items held unacknowledged) resumes without losing or repeating one.
 */
import { Effect, Stream } from "effect"
import { Redis } from "ioredis"
import { consumeStream } from "../../src/consumer/index.js"
import { describe, expect, it } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { caughtUp, newPrefix, startRelay } from "../relay/harness.js"
import { canonical, CheckedFold, groupsOf, runConsumer, until, useTestRedis } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)

const forkingSim = (seed: string): Promise<SimulatorHandle> =>
  startSimulator({
    port: 0, seed, epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10,
    initialBlocks: 40, meanBlockBytes: 512, blockIntervalMs: 15, forkRate: 0.25, maxRollback: 4
  })

describe("consume$ over a relay", () => {
  it("folds to the canonical chain with undos and finals, across a restart that held items unacked", async () => {
    const sim = await forkingSim("consumer-relay")
    const prefix = newPrefix()
    prefixes.push(prefix)
    const options = { redis, relay: prefix, group: "g", consumer: "c1", pollMs: 50, inFlight: 4 }
    const fold = new CheckedFold()
    // registered before the relay publishes anything
    let first = runConsumer(options, fold, { onItem: (_, n) => (n === 25 ? "stop" : "ack") })
    const relay = startRelay(sim, prefix)
    try {
      await until("25 items", () => first.items() >= 25, first.failed)
      first.stop()
      const second = runConsumer(options, fold)
      await new Promise((r) => setTimeout(r, 800))
      sim.live.stop()
      await caughtUp(redis, prefix, sim)
      const tip = canonical(sim).at(-1)
      await until("the consumer at the tip", () => fold.keys().at(-1) === tip, second.failed)
      // the finals of the tip's write come after its apply, and acks commit after the handler:
      // wait for both, then final lags the tip by exactly the relay's depth (10), nothing pending
      const pending = async () => (await groupsOf(redis, `${prefix}events`))[0]?.["pending"]
      await until("the tip's finals and acks", async () => fold.chain.length - fold.finalCount === 10 && (await pending()) === 0, second.failed, 10_000)
      second.stop()
      expect(fold.keys()).toEqual(canonical(sim))
      expect(fold.undos).toBeGreaterThan(0)
      expect(fold.finals).toBeGreaterThan(10)

      // the Effect Stream form, another group: the same chain
      const viaStream = new CheckedFold()
      await Effect.runPromise(
        consumeStream({ redis, relay: prefix, group: "effect", consumer: "e1", pollMs: 50 }).pipe(
          Stream.takeUntil((item) => item.point.id === sim.chain.canonicalPoints().at(-1)!.id && item._tag === "Apply"),
          Stream.runForEach((item) => Effect.sync(() => {
            viaStream.fold(item)
            item.ack()
          }))
        )
      )
      expect(viaStream.keys()).toEqual(canonical(sim))
      expect(viaStream.undos).toBeGreaterThan(0)
    } finally {
      await relay.stop()
      await sim.stop()
    }
  }, 60_000)
})
