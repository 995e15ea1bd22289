/**
 * The filters of the ledger-state queries over their whole input space: any mix of known and
 * unknown pool ids, credentials (hex, bech32 stake addresses) and output references answers
 * exactly the known ones, in any era from Shelley on, and malformed filters are refused (-32600)
 * rather than answered: a list with one id that does not decode (an address, pool id or credential
 * a node's decoder rejects) is refused whatever valid ids it also holds.
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
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b))
const b32 = (prefix: string, data: Uint8Array) => bech32.encode(prefix, bech32.toWords(data), false)
/** Text that no decoder reads as bytes: characters outside hex, base58 and bech32's alphabets. */
const garbage = fc.string({ minLength: 1, maxLength: 40 }).map((t) => `${t}!0OIl`)
/** Hashes of the wrong length, as hex or bech32. */
const wrongLengthHash = fc.oneof(
  bytes(1, 27).map((b) => b.toString("hex")),
  bytes(29, 40).map((b) => b.toString("hex")),
  bytes(1, 27).map((b) => b32("pool", b)),
  bytes(29, 40).map((b) => b32("pool", b))
)
const badPoolId = fc.oneof(garbage, wrongLengthHash, fc.constant("pool1xyz"))
const badCredential = fc.oneof(
  garbage,
  wrongLengthHash,
  // a 28-byte hash under a prefix that is not a staking credential's
  bytes(28, 28).map((b) => b32("addr", b)),
  bytes(28, 28).map((b) => b32("drep_vkh", b)),
  // a stake address of the wrong length or with a payment address's header
  bytes(28, 28).map((b) => b32("stake", b)),
  bytes(28, 28).map((b) => b32("stake", Buffer.concat([Uint8Array.of(0x01), b])))
)
const badAddress = fc.oneof(
  garbage,
  fc.constant("notanaddress"),
  // a reward account is no payment address
  bytes(28, 28).map((b) => b32("stake", Buffer.concat([Uint8Array.of(0xe1), b]))),
  // base addresses of the wrong length, an unknown header type, a network id above 1
  bytes(1, 56).map((b) => b32("addr", Buffer.concat([Uint8Array.of(0x01), b]))),
  bytes(28, 28).map((b) => b32("addr", Buffer.concat([Uint8Array.of(0x91), b]))),
  bytes(28, 28).map((b) => b32("addr", Buffer.concat([Uint8Array.of(0x62), b]))),
  // a Byron address with its CRC broken
  fc.constantFrom(...knownAddresses()).filter((a) => !a.startsWith("addr")).map((a) => a.slice(0, -2) + (a.endsWith("z") ? "yy" : "zz"))
)
/** Valid addresses no generated output pays: enterprise and base addresses of fresh hashes. */
const unknownAddress = fc.oneof(
  bytes(28, 28).map((b) => b32("addr_test", Buffer.concat([Uint8Array.of(0x60), b]))),
  bytes(56, 56).map((b) => b32("addr_test", Buffer.concat([Uint8Array.of(0x00), b])))
)
function knownAddresses(): Array<string> {
  const out = new Set<string>()
  for (const buffer of tipPoint().utxoBlocks()) {
    const block = JSON.parse(buffer.toString("utf8")) as { transactions?: Array<{ outputs: Array<{ address: string }> }> }
    for (const tx of block.transactions ?? []) for (const o of tx.outputs) out.add(o.address)
  }
  return [...out]
}
function tipPoint() {
  return ledgerPointAt(chain, chain.tipIndex, false)
}

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

  it("utxo by address answers exactly the outputs paying the known addresses asked for", () => {
    const addresses = knownAddresses()
    fc.assert(
      fc.property(fc.subarray(addresses, { maxLength: 6 }), fc.array(unknownAddress, { maxLength: 3 }), (known, unknown) => {
        const answer = result(ledger.answer("utxo", tip, { addresses: [...unknown, ...known] }))
        expect(new Set(answer.map((o: { address: string }) => o.address))).toEqual(new Set(known))
      }),
      { numRuns: propertyRuns(50) }
    )
  })

  it("an id that does not decode makes the whole request invalid, whatever valid ids it holds", () => {
    const addresses = knownAddresses()
    const cases = fc.oneof(
      fc.tuple(fc.constant("stakePools"), fc.subarray(pools, { maxLength: 3 }), badPoolId).map(([q, good, bad]) => [q, { stakePools: [...good, bad].map((id) => ({ id })) }] as const),
      fc.tuple(fc.constantFrom("rewardAccountSummaries", "projectedRewards"), fc.constantFrom("keys", "scripts"), fc.subarray(accounts, { maxLength: 3 }), badCredential).map(
        ([q, key, good, bad]) => [q, { [key]: [...good, bad] }] as const
      ),
      fc.tuple(fc.constant("delegateRepresentatives"), fc.subarray([...chain.generator.dreps], { maxLength: 3 }), fc.oneof(garbage, wrongLengthHash, bytes(28, 28).map((b) => b32("stake_vkh", b)))).map(
        ([q, good, bad]) => [q, { keys: [...good, bad] }] as const
      ),
      fc.tuple(fc.constant("utxo"), fc.subarray(addresses, { maxLength: 3 }), badAddress).map(([q, good, bad]) => [q, { addresses: [...good, bad] }] as const),
      fc.constant(["utxo", { address: addresses[0] }] as const)
    )
    fc.assert(
      fc.property(cases, fc.constantFrom(...PRAOS_ERAS), ([query, params], era) => {
        expect(ledger.answer(query, { ...tip, era: query === "delegateRepresentatives" ? "conway" : era }, params)).toHaveProperty("invalid")
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("rewardAccountSummaries without a filter answers no account, as a node asked for an empty set", () => {
    expect(result(ledger.answer("rewardAccountSummaries", tip, undefined))).toEqual([])
    expect(result(ledger.answer("rewardAccountSummaries", tip, {}))).toEqual([])
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
