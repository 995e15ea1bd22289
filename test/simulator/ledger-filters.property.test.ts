/**
 * The filters of the ledger-state queries over their whole input space: any mix of known and
 * unknown pool ids, credentials (hex, bech32 stake addresses) and output references answers
 * exactly the known ones, in any era from Shelley on, and malformed filters are refused (-32600)
 * rather than answered.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Chain } from "../../src/simulator/chain.js"
import { ledgerPointAt, LedgerState } from "../../src/simulator/ledger.js"
import { PRAOS_ERAS } from "../../src/simulator/mainnet.js"
import { propertyRuns } from "../../src/testing/index.js"
import { bech32 } from "@scure/base"

const chain = new Chain({ seed: "ledger-filters", initialBlocks: 150, meanBlockBytes: 3000 })
const ledger = new LedgerState(chain, false)
const tip = ledgerPointAt(chain, chain.tipIndex, false)
const pools = chain.generator.stakePools.map((p) => p.id)
const accounts = [...chain.generator.rewardAccounts]
const credentialOf = (account: string) => Buffer.from(bech32.fromWords(bech32.decode(account as `${string}1${string}`, false).words)).subarray(1).toString("hex")
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"))
const unknownPool = hex(28).map((h) => bech32.encode("pool", bech32.toWords(Buffer.from(h, "hex")), false))
const result = (answer: unknown) => (answer as { result: any }).result

describe("ledger-state query filters", () => {
  it("stakePools answers exactly the known pools asked for", () => {
    fc.assert(
      fc.property(fc.subarray(pools), fc.array(unknownPool, { maxLength: 4 }), fc.constantFrom(...PRAOS_ERAS), (known, unknown, era) => {
        const answer = result(ledger.answer("stakePools", { ...tip, era }, { stakePools: [...unknown, ...known].map((id) => ({ id })) }))
        expect(Object.keys(answer).sort()).toEqual([...known].sort())
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("rewardAccountSummaries answers exactly the known credentials, given as hex or stake address", () => {
    fc.assert(
      fc.property(fc.subarray(accounts), fc.array(hex(28), { maxLength: 4 }), fc.boolean(), (known, unknown, asAddress) => {
        const keys = [...unknown, ...known.map((a) => (asAddress ? a : credentialOf(a)))]
        const answer = result(ledger.answer("rewardAccountSummaries", tip, { keys }))
        expect(answer.map((s: { credential: string }) => s.credential).sort()).toEqual(known.map(credentialOf).sort())
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("utxo by output reference answers exactly the outputs of the window's transactions asked for", () => {
    const outputs: Array<{ transaction: { id: string }; index: number }> = []
    for (let i = chain.tipIndex - 99; i <= chain.tipIndex; i++) {
      for (const tx of (chain.blockAt(chain.heightOf(i))!.transactions ?? []) as Array<{ id: string; outputs: Array<unknown> }>) {
        tx.outputs.forEach((_, index) => outputs.push({ transaction: { id: tx.id }, index }))
      }
    }
    const key = (r: { transaction: { id: string }; index: number }) => `${r.transaction.id}#${r.index}`
    fc.assert(
      fc.property(fc.subarray(outputs, { maxLength: 12 }), fc.array(fc.record({ transaction: fc.record({ id: hex(32) }), index: fc.nat(10) }), { maxLength: 3 }), (known, unknown) => {
        const answer = result(ledger.answer("utxo", tip, { outputReferences: [...unknown, ...known] }))
        expect(answer.map(key).sort()).toEqual(known.map(key).sort())
      }),
      { numRuns: propertyRuns(50) }
    )
  })

  it("malformed filters are refused, never answered", () => {
    const bad = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer(), { minLength: 1 }), fc.constant([{ idx: 1 }]))
    fc.assert(
      fc.property(fc.constantFrom("stakePools", "rewardAccountSummaries", "utxo", "governanceProposals"), bad, (query, value) => {
        const param = { stakePools: "stakePools", rewardAccountSummaries: "keys", utxo: "outputReferences", governanceProposals: "proposals" }[query]
        expect(ledger.answer(query, tip, { [param]: value })).toHaveProperty("invalid")
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})
