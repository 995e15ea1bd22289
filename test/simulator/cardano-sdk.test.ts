/**
 * The simulator's blocks as the most used TypeScript Cardano SDK sees them: every generated block
 * (each era of a custom devnet, a Byron devnet, mainnet-shaped epochs) is parsed the way the
 * Ogmios client parses frames (`safeJSON`: lovelace, assets and metadata integers as bigint) and
 * mapped by cardano-js-sdk's block mapper (`ogmiosToCore.block`), which decodes addresses, reward
 * accounts, pool ids, hashes and the CBOR of datums and redeemers. Every address is then decoded
 * with the SDK's standard decoder and its network checked against the network served.
 */
import { Cardano } from "@cardano-sdk/core"
import { ogmiosToCore } from "@cardano-sdk/ogmios"
import { safeJSON } from "@cardano-ogmios/client/dist/util.js"
import { describe, expect, it } from "vitest"
import { Chain, type ChainOptions } from "../../src/simulator/chain.js"
import { PRAOS_ERAS } from "../../src/simulator/mainnet.js"

interface Tally {
  blocks: number
  mapped: number
  ebbs: number
  transactions: number
  addresses: number
  byronAddresses: number
  rewardAccounts: number
  datums: number
  redeemers: number
  governance: number
  /** mapped blocks per type (bft, praos) */
  types: Record<string, number>
  failures: Array<string>
}

/** Every address-like string of a transaction, with where it came from. */
const addressesOf = (tx: Record<string, any>): { payment: Array<string>; reward: Array<string> } => {
  const payment: Array<string> = tx.outputs.map((o: any) => o.address)
  if (tx.collateralReturn) payment.push(tx.collateralReturn.address)
  const reward: Array<string> = Object.keys(tx.withdrawals ?? {})
  for (const p of tx.proposals ?? []) if (p.returnAccount) reward.push(p.returnAccount)
  return { payment, reward }
}

const mapEveryBlock = (options: ChainOptions): Tally => {
  const chain = new Chain(options)
  const mainnet = chain.network.name === "mainnet"
  const networkId = mainnet ? Cardano.NetworkId.Mainnet : Cardano.NetworkId.Testnet
  const t: Tally = { blocks: 0, mapped: 0, ebbs: 0, transactions: 0, addresses: 0, byronAddresses: 0, rewardAccounts: 0, datums: 0, redeemers: 0, governance: 0, types: {}, failures: [] }
  const fail = (index: number, message: string) => {
    if (t.failures.length < 10) t.failures.push(`block ${index}: ${message.slice(0, 300)}`)
  }
  for (let index = 0; index <= chain.tipIndex; index++) {
    t.blocks++
    const block = safeJSON.parse(chain.blockBuffer(index).toString("utf8"))
    let mapped: ReturnType<typeof ogmiosToCore.block>
    try {
      mapped = ogmiosToCore.block(block)
    } catch (error) {
      fail(index, String(error))
      continue
    }
    if (block.type === "ebb") {
      // the SDK skips epoch boundary blocks (they carry no transactions)
      if (mapped !== null) fail(index, "an EBB mapped to a block")
      t.ebbs++
      continue
    }
    if (mapped === null) {
      fail(index, `${block.type} block not mapped`)
      continue
    }
    t.mapped++
    t.types[block.type] = (t.types[block.type] ?? 0) + 1
    if (mapped.header.hash !== block.id || mapped.header.slot !== block.slot || mapped.body.length !== block.transactions.length) {
      fail(index, "mapped header/body differ from the block")
    }
    for (const tx of block.transactions) {
      t.transactions++
      const { payment, reward } = addressesOf(tx)
      for (const text of payment) {
        t.addresses++
        const address = Cardano.Address.fromString(text)
        if (!address) {
          fail(index, `address does not decode: ${text}`)
          continue
        }
        if (address.getType() === Cardano.AddressType.Byron) {
          t.byronAddresses++
          // Byron addresses carry the protocol magic on testnets only
          const magic = address.asByron()!.getAttributes().magic
          if (magic !== (mainnet ? undefined : chain.network.networkMagic)) fail(index, `Byron address magic ${magic}: ${text}`)
        } else if (address.getNetworkId() !== networkId || !text.startsWith(mainnet ? "addr1" : "addr_test1")) {
          fail(index, `address of network ${address.getNetworkId()}: ${text}`)
        }
      }
      for (const text of reward) {
        t.rewardAccounts++
        const address = Cardano.Address.fromString(text)
        if (address?.getType() !== Cardano.AddressType.RewardKey && address?.getType() !== Cardano.AddressType.RewardScript) {
          fail(index, `not a reward account: ${text}`)
        } else if (address.getNetworkId() !== networkId) fail(index, `reward account of network ${address.getNetworkId()}: ${text}`)
      }
      for (const o of tx.outputs) if (o.datum !== undefined) t.datums++
      t.redeemers += tx.redeemers?.length ?? 0
      t.governance += (tx.votes?.length ?? 0) + (tx.proposals?.length ?? 0)
      for (const c of tx.certificates ?? []) {
        if (c.stakePool?.id !== undefined) Cardano.PoolId(c.stakePool.id) // throws on a bad checksum
        if (c.type.startsWith("delegateRepresentative") || c.type.startsWith("constitutionalCommittee")) t.governance++
      }
    }
  }
  return t
}

describe("cardano-js-sdk maps every simulator block", () => {
  for (const era of PRAOS_ERAS) {
    it(`custom ${era} devnet`, () => {
      const t = mapEveryBlock({ era, initialBlocks: 500, seed: `sdk-${era}` })
      expect(t.failures).toEqual([])
      expect(t.mapped).toBe(500)
      expect(t.transactions).toBeGreaterThan(2000)
      expect(t.addresses).toBeGreaterThan(5000)
      expect(t.byronAddresses).toBeGreaterThan(100)
      expect(t.rewardAccounts).toBeGreaterThan(50)
      if (era === "babbage" || era === "conway") {
        expect(t.datums).toBeGreaterThan(50)
      }
      if (era !== "shelley" && era !== "allegra" && era !== "mary") expect(t.redeemers).toBeGreaterThan(50)
      if (era === "conway") expect(t.governance).toBeGreaterThan(50)
    })
  }

  it("custom conway devnet configured as mainnet (networkId 1): mainnet addresses and reward accounts", () => {
    const t = mapEveryBlock({ era: "conway", networkId: 1, initialBlocks: 200, seed: "sdk-mainnet-id" })
    expect(t.failures).toEqual([])
    expect(t.mapped).toBe(200)
    expect(t.addresses).toBeGreaterThan(2000)
    expect(new Chain({ era: "conway", networkId: 1, initialBlocks: 1 }).genesis.shelley.network).toBe("mainnet")
  })

  it("custom byron devnet with 2000-slot epochs (EBBs included)", () => {
    // the SDK decodes every base58 Byron address (slow): smaller blocks keep this test in seconds
    const t = mapEveryBlock({ era: "byron", initialBlocks: 3000, epochLength: 2000, seed: "sdk-byron", meanBlockBytes: 4096 })
    expect(t.failures).toEqual([])
    expect(t.ebbs).toBeGreaterThan(10)
    expect(t.mapped + t.ebbs).toBe(3000)
    expect(t.byronAddresses).toBe(t.addresses)
    expect(t.addresses).toBeGreaterThan(5000)
  })

  it("mainnet-shaped epoch 208 (from the last Byron block of 207) and the first blocks of 209", () => {
        // early Shelley blocks were small (a few kB): the SDK maps about 4 ms of a 16 kB block
    const t = mapEveryBlock({ network: "mainnet-shaped", epochs: { from: 208, to: 208 }, seed: "sdk-mainnet", meanBlockBytes: 4096 })
    expect(t.failures).toEqual([])
    expect(t.blocks).toBeGreaterThan(21_000)
    expect(t.mapped).toBe(t.blocks)
    expect(t.types.bft).toBe(1) // the anchor: the last Byron block of epoch 207
    expect(t.addresses).toBeGreaterThan(50_000)
  }, 180_000)

  it("mainnet-shaped epoch 507 (from the last Babbage block to Conway)", () => {
    const t = mapEveryBlock({ network: "mainnet-shaped", epochs: { from: 507, to: 507 }, seed: "sdk-mainnet-conway", meanBlockBytes: 2048 })
    expect(t.failures).toEqual([])
    expect(t.blocks).toBeGreaterThan(20_000)
    expect(t.mapped).toBe(t.blocks)
    expect(t.datums + t.redeemers + t.governance).toBeGreaterThan(1000)
  }, 180_000)
})
