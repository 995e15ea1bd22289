/**
 * `hecate backfill` (built CLI) behind the fault proxy (test/support/fault-proxy.ts).
 *
 * A fault that repeats at the same block on every connection (a frame over the 128 MiB limit, a
 * server closing mid-frame, a server that stops answering, a frame that is not JSON) must not make
 * the backfill reconnect forever: reconnects are counted by progress, each failure is logged once at
 * WARN with its cause, and after the retries the run exits 10 with nothing of the failed epoch
 * published. The same fault once is recovered from, with the streams equal to an uninterrupted run.
 * An Ogmios that refuses connections, or accepts and never answers, at the start of the run is
 * retried with the reconnect schedule and ends with exit 10, never 1.
 */
import fc from "fast-check"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { SimulatorHandle } from "../../../src/simulator/index.js"
import { deadEndpointUrl } from "../../support/dead-endpoint.js"
import { type Fault, type FaultKind, type FaultProxy, startFaultProxy } from "../../support/fault-proxy.js"
import {
  deleteByPrefix,
  e2e,
  type E2e,
  expectedEpoch,
  output
} from "../../support/backfill-e2e.js"

const END_EPOCH = 2
/** Short request timeout so a silent server is detected in 1 s (HECATE_REQUEST_TIMEOUT_MS). */
const FAST = { HECATE_REQUEST_TIMEOUT_MS: "1000" }

let t: E2e
let sim: SimulatorHandle
let proxy: FaultProxy

beforeAll(async () => {
  t = await e2e()
  sim = await t.sim()
  proxy = await startFaultProxy(sim.url)
  // derive and cache the epoch index once, straight from the simulator, without touching Redis
  await t.deriveIndex(sim.url, END_EPOCH)
})
afterAll(async () => {
  await proxy?.close()
  await t?.cleanup()
})
beforeEach(async () => {
  proxy.clear()
  await deleteByPrefix(t.redis, t.prefix)
})

/**
 * Heights a fault can target so that it lands in the epoch's own session: an epoch's session also
 * asks for one block past its end (pipelined), so a one-off fault on an epoch's first block may be
 * spent on the previous session, which no longer needs it.
 */
const faultHeight = () => {
  const firsts = new Set(sim.chain.epochs().map((e) => e.firstHeight))
  return fc.integer({ min: 0, max: sim.chain.epochInfo(END_EPOCH)!.lastHeight }).filter((h) => !firsts.has(h))
}

const epochOf = (height: number): number => {
  for (const e of sim.chain.epochs()) if (height >= e.firstHeight && height <= e.lastHeight) return e.epoch
  throw new Error(`no epoch holds height ${height}`)
}

/** What the WARN lines must name for each kind repeated at one block. */
const CAUSE: Partial<Record<FaultKind, RegExp>> = {
  oversize: /frame of 140 MB exceeds the 128 MiB limit/,
  closeMidFrame: /closed mid-frame \(\d+ k?B of a \d+ k?B frame received\)/,
  stall: /no answer to nextBlock for 1 s/,
  changeId: /malformed Ogmios frame: a reply to no request sent \(id 1000000\)/,
  corrupt: /malformed Ogmios frame: not JSON/,
  truncate: /malformed Ogmios frame: not JSON/
}

const backfill = (extra: ReadonlyArray<string> = []) =>
  t.backfill(["--endpoint", proxy.url, "--end-epoch", String(END_EPOCH), "--concurrency", "1", "--retries", "1", ...extra], {
    env: FAST,
    timeoutMs: 60_000
  })

/** Every epoch through END_EPOCH published, each equal to the simulator's canonical blocks. */
const expectComplete = async () => {
  expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(END_EPOCH))
  expect((await t.readEvents()).map((e) => Number(e.epoch))).toEqual([0, 1, 2])
  for (let e = 0; e <= END_EPOCH; e++) {
    expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
  }
}

const bytesOf = (text: string): number => Number(/\d+/.exec(text)![0]) * (text.endsWith("kB") ? 1000 : 1)

/** A "closed mid-frame (x of a y frame received)" never claims more of a frame than the frame. */
const expectHonestFrameSizes = (text: string) => {
  for (const [, got, of] of text.matchAll(/closed mid-frame \((\d+ k?B) of a (\d+ k?B) frame received\)/g)) {
    expect(bytesOf(got!), `${got} of a ${of}`).toBeLessThanOrEqual(bytesOf(of!))
  }
}

/** A repeated fault in `epoch`: exit 10, the epochs before it published intact, nothing of it or after. */
const expectFailedAt = async (run: Awaited<ReturnType<typeof backfill>>, epoch: number, cause: RegExp) => {
  expect(run.code, output(run)).toBe(10)
  expectHonestFrameSizes(output(run))
  expect(run.stdout).toMatch(new RegExp(`Backfill incomplete: 1 epoch\\(s\\) failed after retries: ${epoch} `))
  expect(run.stdout).toMatch(cause)
  // each failed reconnect logged once, with its cause, counted without progress up to the limit (3)
  // for each of the 2 attempts of the epoch; then the attempt itself
  const reconnects = run.stderr.split("\n").filter((l) => /WARN .*chain sync: /.test(l))
  expect(reconnects, output(run)).toHaveLength(6)
  for (const line of reconnects) expect(line).toMatch(cause)
  expect(reconnects.map((l) => /retry (\d)\/3 without a new block/.exec(l)?.[1])).toEqual(["1", "2", "3", "1", "2", "3"])
  expect(run.stderr).toMatch(new RegExp(`WARN .*epoch ${epoch}: attempt 1/2 failed \\(.*${cause.source}`))
  expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(epoch - 1))
  expect((await t.readEvents()).map((e) => Number(e.epoch))).toEqual(Array.from({ length: epoch }, (_, e) => e))
  expect(await t.epochStreams()).toEqual(Array.from({ length: epoch }, (_, e) => e))
  for (let e = 0; e < epoch; e++) {
    expect((await t.readEpoch(e)).batches.flatMap((b) => b.blocks), `epoch ${e}`).toEqual(expectedEpoch(sim, e))
  }
}

describe("backfill: a fault repeating at one block ends with exit 10 naming its cause", () => {
  for (const kind of ["oversize", "closeMidFrame", "stall"] as const) {
    it(`${kind} at the same block on every connection`, async () => {
      const height = sim.chain.epochInfo(1)!.firstHeight + 7
      proxy.arm({ kind, at: { height }, repeat: "always" })
      await expectFailedAt(await backfill(), 1, CAUSE[kind]!)
      // the endpoint recovers: the same command resumes at epoch 1 and completes
      proxy.clear()
      const rerun = await backfill()
      expect(rerun.code, output(rerun)).toBe(0)
      await expectComplete()
    })
  }
})

describe("backfill: connection faults × position × repetition (property)", () => {
  it("once: recovered, streams equal to an uninterrupted run; every connection: exit 10 with the cause", async () => {
    const cases: Array<string> = []
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<FaultKind>("corrupt", "truncate", "oversize", "closeMidFrame", "stall", "changeId"),
        faultHeight(),
        fc.constantFrom("once" as const, "always" as const),
        async (kind, height, repeat) => {
          cases.push(`${kind}@${height}:${repeat}`)
          await deleteByPrefix(t.redis, t.prefix)
          const fault: Fault = { kind, at: { height }, repeat }
          proxy.arm(fault)
          const firedBefore = proxy.fired
          const run = await backfill()
          proxy.clear()
          expect(proxy.fired - firedBefore).toBeGreaterThanOrEqual(1)
          if (repeat === "once") {
            expect(run.code, output(run)).toBe(0)
            expect(run.stderr).toMatch(CAUSE[kind]!) // the one reconnect, logged with its cause
            await expectComplete()
          } else {
            await expectFailedAt(run, epochOf(height), CAUSE[kind]!)
          }
        }
      ),
      { numRuns: 6, seed: 4 }
    )
    // the seed must keep covering both repetitions
    expect(cases.some((c) => c.endsWith(":once")) && cases.some((c) => c.endsWith(":always")), cases.join(" ")).toBe(true)
  }, 180_000)
})

describe("backfill: blocks that break the chain (property)", () => {
  // not connection faults: the follower passes them on and the epoch session's checks refuse them
  const VERIFICATION: Partial<Record<FaultKind, RegExp>> = {
    jumpHeight: /failed verification: block \S+ at height \d+ does not follow block \S+ at height \d+/,
    breakParent: /failed verification: block \S+ at height \d+: its parent hash \S+ is not the previous block's/,
    rollbackUnknown: /failed verification: the node sent a rollback to .* inside this finalized epoch/
  }
  it("once: the attempt fails verification and the retry completes; every connection: exit 10, nothing of the epoch published", async () => {
    const cases: Array<string> = []
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<FaultKind>("jumpHeight", "breakParent", "rollbackUnknown"),
        faultHeight(),
        fc.constantFrom("once" as const, "always" as const),
        async (kind, height, repeat) => {
          cases.push(`${kind}@${height}:${repeat}`)
          await deleteByPrefix(t.redis, t.prefix)
          proxy.arm({ kind, at: { height }, repeat })
          const run = await backfill()
          proxy.clear()
          const epoch = epochOf(height)
          expect(run.stderr).toMatch(new RegExp(`WARN .*epoch ${epoch}: attempt 1/2 failed \\(.*${VERIFICATION[kind]!.source}`))
          expect(run.stderr).not.toMatch(/chain sync: /) // no reconnect: the connection was fine
          if (repeat === "once") {
            expect(run.code, output(run)).toBe(0)
            await expectComplete()
          } else {
            expect(run.code, output(run)).toBe(10)
            expect(run.stdout).toMatch(VERIFICATION[kind]!)
            // a fault of what the endpoint sent, not of the epoch index: no advice to delete the cache entry
            expect(run.stdout).toContain("Check the Ogmios endpoint")
            expect(run.stdout).not.toMatch(/epoch index|HECATE_EPOCH_CACHE/)
            expect(await t.redis.get(`${t.prefix}last_synced_epoch`)).toBe(String(epoch - 1))
            expect(await t.epochStreams()).toEqual(Array.from({ length: epoch }, (_, e) => e))
          }
        }
      ),
      { numRuns: 4, seed: 9 }
    )
    expect(cases.some((c) => c.endsWith(":once")) && cases.some((c) => c.endsWith(":always")), cases.join(" ")).toBe(true)
  }, 120_000)
})

describe("backfill: Ogmios unavailable at the start", () => {
  it("refused connections are retried with the reconnect schedule, then exit 10; nothing written", async () => {
    const dead = await deadEndpointUrl()
    const run = await t.backfill(["--endpoint", dead, "--end-epoch", String(END_EPOCH)], { env: FAST })
    expect(run.code, output(run)).toBe(10)
    const retries = run.stderr.split("\n").filter((l) => l.includes("WARN") && l.includes(`Ogmios: ${dead}`))
    expect(retries).toHaveLength(3)
    for (const line of retries) expect(line).toMatch(/ECONNREFUSED.*; retrying in \d+ ms \(retry [123]\/3\)/)
    expect(run.stdout).toContain("Backfill incomplete: Ogmios unavailable: connecting failed 4 times (the first try and 3 retries of the reconnect schedule)")
    expect(run.stdout).toContain(dead)
    expect(await t.redis.keys(`${t.prefix}*`)).toEqual([])
  })

  it("an Ogmios that accepts and never answers the first query is retried, then exit 10; nothing written", async () => {
    proxy.arm({ kind: "stall", at: { frame: 1 }, repeat: "always" })
    const connectionsBefore = proxy.connections
    const run = await backfill()
    expect(run.code, output(run)).toBe(10)
    expect(run.stdout).toMatch(/Backfill incomplete: Ogmios unavailable: (\S+) failed 4 times \(the first try and 3 retries of the reconnect schedule\), last: no answer to \1 for 1 s/)
    expect(run.stderr.split("\n").filter((l) => /WARN .*Ogmios: no answer to .* for 1 s; retrying/.test(l))).toHaveLength(3)
    expect(proxy.connections - connectionsBefore).toBe(4) // a fresh connection per attempt
    expect(await t.redis.keys(`${t.prefix}*`)).toEqual([])
  })

  it("a server that accepts the TCP connection and never answers the WebSocket upgrade is bounded by HECATE_REQUEST_TIMEOUT_MS", async () => {
    const { createServer } = await import("node:net")
    const sockets: Array<import("node:net").Socket> = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    try {
      const url = `ws://127.0.0.1:${(silent.address() as { port: number }).port}`
      const started = performance.now()
      const run = await t.backfill(["--endpoint", url, "--end-epoch", String(END_EPOCH)], { env: { HECATE_REQUEST_TIMEOUT_MS: "500" }, timeoutMs: 30_000 })
      const seconds = (performance.now() - started) / 1000
      expect(run.code, output(run)).toBe(10)
      expect(run.stdout).toContain("Ogmios unavailable: connecting failed 4 times")
      // 4 handshakes of 0.5 s and the reconnect delays; the fixed 10 s handshake made it ~42 s
      expect(seconds, output(run)).toBeLessThan(10)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})
