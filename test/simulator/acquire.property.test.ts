/**
 * Acquired ledger states over random sequences of forging, forks, acquires (within k, too old,
 * rolled away), releases and queries: inside an acquired state every query answers for the
 * acquired point (the UTxO holds no output of a later block, even after forks replace the blocks
 * it was taken on), and after a release or a failed (re-)acquire every query answers at the tip,
 * as the local-state-query protocol leaves the client idle after MsgFailure.
 */
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { parse, stringify } from "../../src/json/lossless.js"
import type { Chain } from "../../src/simulator/chain.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { ledgerPointAt, LedgerState } from "../../src/simulator/ledger.js"
import { propertyRuns } from "../../src/testing/index.js"
import { connect, type RawClient } from "./raw-client.js"

const K = 20
const EPOCH_LENGTH = 60

/** The queries checked, with the parameters they are asked with. */
const LEDGER_QUERIES: ReadonlyArray<readonly [string, (chain: Chain) => unknown]> = [
  ["constitution", () => undefined],
  ["constitutionalCommittee", () => undefined],
  ["delegateRepresentatives", () => undefined],
  ["eraStart", () => undefined],
  ["governanceProposals", () => undefined],
  ["liveStakeDistribution", () => undefined],
  ["nonces", () => undefined],
  ["operationalCertificates", () => undefined],
  ["projectedRewards", () => ({ stake: [{ ada: { lovelace: 1_000_000_000 } }] })],
  ["protocolParameters", () => undefined],
  ["rewardAccountSummaries", (chain) => ({ keys: chain.generator.rewardAccounts.slice(0, 8) })],
  ["rewardsProvenance", () => undefined],
  ["stakePools", () => ({ includeStake: true })],
  ["stakePoolsPerformances", () => undefined],
  ["treasuryAndReserves", () => undefined],
  ["utxo", () => undefined]
]

/** What every query answers at the ledger state after the block at `index` (JSON as sent). */
const expectedAt = (chain: Chain, index: number): Record<string, unknown> => {
  const ledger = new LedgerState(chain, false)
  const point = ledgerPointAt(chain, index, true)
  const slot = chain.slotAt(index)
  const out: Record<string, unknown> = {
    "queryNetwork/tip": chain.pointAt(index),
    "queryNetwork/blockHeight": chain.heightOf(index),
    "queryLedgerState/tip": chain.pointAt(index),
    "queryLedgerState/epoch": Math.floor(slot / EPOCH_LENGTH),
    "queryLedgerState/eraSummaries": chain.network.eraSummaries(slot)
  }
  for (const [name, params] of LEDGER_QUERIES) {
    const answer = ledger.answer(name, point, params(chain)) as { result: unknown }
    out[`queryLedgerState/${name}`] = answer.result
  }
  return JSON.parse(stringify(out))
}

/** Transaction ids of the blocks at and below `index` (the UTxO at that point may hold only these). */
const txIdsUpTo = (chain: Chain, index: number): Set<string> => {
  const ids = new Set<string>()
  for (let i = 0; i <= index; i++) {
    for (const tx of ((parse(chain.blockBuffer(i).toString("utf8")) as { transactions?: Array<{ id: string }> }).transactions ?? [])) ids.add(tx.id)
  }
  return ids
}

type Op =
  | { readonly t: "forge"; readonly n: number }
  | { readonly t: "fork"; readonly depth: number; readonly n: number }
  | { readonly t: "acquire"; readonly depth: number }
  /** a fork that replaces the acquired block and up to `extra` blocks below it */
  | { readonly t: "forkPastAcquired"; readonly extra: number; readonly n: number }
  | { readonly t: "acquireGone" }
  | { readonly t: "release" }
  | { readonly t: "check" }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("forge" as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ t: fc.constant("fork" as const), depth: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ t: fc.constant("acquire" as const), depth: fc.integer({ min: 0, max: K + 6 }) }),
  fc.record({ t: fc.constant("forkPastAcquired" as const), extra: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 1, max: 8 }) }),
  fc.constant({ t: "acquireGone" as const }),
  fc.constant({ t: "release" as const }),
  fc.constant({ t: "check" as const })
)

const sims: Array<SimulatorHandle> = []
afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop()
})

let nextId = 0
const ask = async (c: RawClient, method: string, params?: unknown) => {
  const id = ++nextId
  c.send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id })
  const reply = await c.next(20_000)
  expect(reply.id).toBe(id)
  return reply as { result?: unknown; error?: { code: number; data?: unknown } }
}

describe("acquired ledger states", () => {
  it("every query answers for the acquired point, or at the tip once released or after a failed acquire", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 6 }), fc.array(op, { minLength: 1, maxLength: 14 }), async (seed, ops) => {
        const sim = await startSimulator({ port: 0, seed, initialBlocks: 40, securityParameter: K, epochLength: EPOCH_LENGTH, meanBlockBytes: 1500 })
        sims.push(sim)
        const chain = sim.chain
        const c = await connect(sim.url)
        // the model: the acquired point's index, what it answers, and the txs it may hold
        let acquired: { readonly index: number; readonly expected: Record<string, unknown>; readonly txs: Set<string> } | undefined
        try {
          for (const o of [...ops, { t: "check" } as const]) {
            switch (o.t) {
              case "forge":
                sim.forge(o.n)
                break
              case "fork": {
                const depth = Math.min(o.depth, chain.maxRollbackDepth())
                if (depth > 0) sim.switchFork(depth, o.n)
                break
              }
              case "acquire": {
                const index = chain.tipIndex - o.depth
                if (index < 0) break
                const reply = await ask(c, "acquireLedgerState", { point: chain.pointAt(index) })
                if (o.depth > K) {
                  expect(reply.error).toMatchObject({ code: 2000, data: "Target point is too old." })
                  acquired = undefined
                } else {
                  expect(reply.result).toEqual({ acquired: "ledgerState", point: chain.pointAt(index) })
                  acquired = { index, expected: expectedAt(chain, index), txs: txIdsUpTo(chain, index) }
                }
                break
              }
              case "forkPastAcquired": {
                if (!acquired) break
                const depth = Math.min(chain.tipIndex - acquired.index + 1 + o.extra, chain.maxRollbackDepth())
                if (depth > 0) sim.switchFork(depth, o.n)
                break
              }
              case "acquireGone": {
                const reply = await ask(c, "acquireLedgerState", { point: { slot: chain.slotAt(chain.tipIndex), id: "ab".repeat(32) } })
                expect(reply.error).toMatchObject({ code: 2000, data: "Target doesn't or no longer exist." })
                acquired = undefined
                break
              }
              case "release":
                expect((await ask(c, "releaseLedgerState")).result).toEqual({ released: "ledgerState" })
                acquired = undefined
                break
              case "check": {
                const expected = acquired?.expected ?? expectedAt(chain, chain.tipIndex)
                for (const method of Object.keys(expected)) {
                  const name = method.slice(method.indexOf("/") + 1)
                  const params = LEDGER_QUERIES.find(([q]) => q === name && method.startsWith("queryLedgerState/"))?.[1](chain)
                  const reply = await ask(c, method, params)
                  expect(reply.result, method).toEqual(expected[method])
                  if (method === "queryLedgerState/utxo" && acquired) {
                    const later = (reply.result as Array<{ transaction: { id: string } }>).filter((o) => !acquired!.txs.has(o.transaction.id))
                    expect(later, "outputs of blocks after the acquired point").toEqual([])
                  }
                }
                break
              }
            }
          }
        } finally {
          c.close()
          await sim.stop()
          sims.splice(sims.indexOf(sim), 1)
        }
      }),
      { numRuns: propertyRuns(30) }
    )
  }, 240_000)
})
