/**
 * In-process relay harness: a simulator, a relay fiber (interruptible = a clean stop), a raw
 * Redis client and a unique prefix, plus the canonical-chain comparison every relay test makes.
 */
import { randomBytes } from "node:crypto"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, expect } from "vitest"
import { OgmiosLive } from "../../src/layers/OgmiosLive.js"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { relay, type RelayOptions } from "../../src/relay/relay.js"
import { RelayStore } from "../../src/relay/RelayStore.js"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"
import { TEST_REDIS_URL, deleteByPrefix } from "../backfill/redis-helpers.js"
import { foldEntries, type RelayEntry, relayState } from "./support.js"

export const newPrefix = () => `hecate-test:${randomBytes(6).toString("hex")}:`

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

export interface RunningRelay {
  readonly fiber: Fiber.Fiber<never, unknown>
  stop(): Promise<void>
}

export const startRelay = (
  sim: SimulatorHandle | { readonly url: string },
  prefix: string,
  options: Partial<RelayOptions> & { readonly retain?: number; readonly redisUrl?: string } = {}
): RunningRelay => {
  const layers = Layer.mergeAll(
    OgmiosLive.layer({ endpoints: [sim.url], requestTimeout: 10_000 }),
    RelayStore.layer({ prefix, ...(options.retain === undefined ? {} : { retain: options.retain }) }).pipe(
      Layer.provide(RedisLive.layer({ url: Redacted.make(options.redisUrl ?? TEST_REDIS_URL), connectionName: "hecate-test-relay" }))
    )
  )
  const fiber = Effect.runFork(
    relay({ endpoints: [sim.url], from: "origin", depth: 10, inFlight: 20, reconnect: { initialDelay: 20, maxDelay: 200 }, ...options }).pipe(
      Effect.provide(layers)
    )
  )
  return {
    fiber,
    stop: async () => {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  }
}

/** Waits until the relay's stored tip is the simulator's tip. */
export const caughtUp = async (client: IORedis, prefix: string, sim: SimulatorHandle, timeoutMs = 20_000): Promise<void> => {
  await waitFor("the relay to reach the simulator's tip", async () => {
    const tip = sim.chain.tip()
    if (tip === "origin") return true
    const window = await client.lrange(`${prefix}window`, -1, -1)
    const last = window[0]?.split(" ")[2]
    if (last !== undefined) return last === tip.id
    const final = await client.hget(`${prefix}cursor`, "final_hash")
    return final === tip.id
  }, timeoutMs)
}

/**
 * Checks the relay contract against the simulator's canonical chain (from height `fromHeight`):
 * folding `events` gives exactly the chain, `final` is a prefix of it with no duplicates, entry
 * ids strictly increase, and no (type, hash) entry repeats except re-applies after an undo.
 */
export const expectCanonical = async (client: IORedis, prefix: string, sim: SimulatorHandle, fromHeight = 0) => {
  const { events, final } = await relayState(client, prefix)
  const chain = foldEntries(events)
  const canonical = sim.chain.canonicalPoints().map((p, i) => ({ height: sim.chain.heightOf(i), hash: p.id, slot: p.slot }))
    .filter((b) => b.height >= fromHeight)
  expect(chain.map((b) => `${b.height}:${b.hash}`)).toEqual(canonical.map((b) => `${b.height}:${b.hash}`))
  expect(chain.map((b) => b.slot)).toEqual(canonical.map((b) => b.slot))
  // final: a prefix of the canonical chain, each block once, content = the apply's
  expect(final.map((b) => `${b.height}:${b.hash}`)).toEqual(canonical.slice(0, final.length).map((b) => `${b.height}:${b.hash}`))
  // a final entry holds no block: it names the apply entry that does, still in `events`
  const byId = new Map(events.map((e) => [e.id, e]))
  for (const f of final) {
    expect(f.blockText, `final ${f.id} holds no block`).toBeUndefined()
    const apply = byId.get(f.ref ?? "")
    expect(apply?.type, `final ${f.id} refers to the apply ${f.ref}`).toBe("apply")
    expect(`${apply?.height}:${apply?.hash}:${apply?.slot}:${apply?.era}`).toBe(`${f.height}:${f.hash}:${f.slot}:${f.era}`)
  }
  expectIncreasingIds(events)
  expectIncreasingIds(final)
  // no repeated event: an apply of a hash only again after its undo, an undo only of an applied hash
  const live = new Set<string>()
  for (const e of events) {
    if (e.type === "apply") {
      expect(live.has(e.hash), `apply ${e.id} of ${e.hash} repeats`).toBe(false)
      live.add(e.hash)
    } else {
      expect(live.has(e.hash), `undo ${e.id} of ${e.hash} repeats`).toBe(true)
      live.delete(e.hash)
    }
  }
  return { events, final, chain }
}

const expectIncreasingIds = (entries: ReadonlyArray<RelayEntry>) => {
  const key = (id: string) => id.split("-").map(Number) as [number, number]
  for (let i = 1; i < entries.length; i++) {
    const [a1, a2] = key(entries[i - 1]!.id)
    const [b1, b2] = key(entries[i]!.id)
    expect(b1 > a1 || (b1 === a1 && b2 > a2)).toBe(true)
  }
}

export const cleanup = async (client: IORedis, prefixes: ReadonlyArray<string>) => {
  for (const p of prefixes) await deleteByPrefix(client, p)
}

export interface RelayTestBed {
  /** a Redis client, open from beforeAll to afterAll */
  readonly client: IORedis
  /** a simulator with these defaults (stopped after the file) */
  sim(options?: SimulatorOptions): Promise<SimulatorHandle>
  /** a fresh key prefix (deleted after the file) */
  prefix(): string
}

/** Registers beforeAll / afterAll for a relay test file: a client, simulators and prefixes cleaned up. */
export const relayTestBed = (defaults: SimulatorOptions): RelayTestBed => {
  const prefixes: Array<string> = []
  const sims: Array<SimulatorHandle> = []
  const bed = {
    sim: async (options: SimulatorOptions = {}) => {
      const s = await startSimulator({ port: 0, ...defaults, seed: `${String(defaults.seed ?? "relay")}-${sims.length}`, ...options })
      sims.push(s)
      return s
    },
    prefix: () => {
      const p = newPrefix()
      prefixes.push(p)
      return p
    }
  } as { -readonly [K in keyof RelayTestBed]: RelayTestBed[K] }
  beforeAll(() => {
    bed.client = new IORedis(TEST_REDIS_URL)
  })
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()))
    await cleanup(bed.client, prefixes)
    bed.client.disconnect()
  })
  return bed
}
