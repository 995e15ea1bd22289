/**
 * The `queryLedgerState/*` queries beyond tip, epoch and era summaries, as real tooling meets them:
 * every reply in every era on custom, Byron and mainnet-shaped networks checked against the
 * official schemas of the version the server speaks (v6.14 and v7.0); 2002 exactly where Ogmios
 * answers it (every query while the ledger is Byron, the governance queries before Conway); the
 * values consistent with the chain served (pools = block issuers, protocol version = the blocks',
 * UTxO = outputs of the blocks); then the official client's LedgerStateQuery client and
 * cardano-js-sdk's `OgmiosCardanoNode.stakeDistribution()` on top of them.
 */
import { createInteractionContext, createLedgerStateQueryClient } from "@cardano-ogmios/client"
import { OgmiosCardanoNode, OgmiosObservableCardanoNode } from "@cardano-sdk/ogmios"
import { bech32 } from "@scure/base"
import blake2b from "blake2b"
import { of } from "rxjs"
import { afterEach, describe, expect, it } from "vitest"
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js"
import { connect, type RawClient } from "./raw-client.js"
import { type SchemaVersion, validate } from "./schemas.js"

const sims: Array<SimulatorHandle> = []
const clients: Array<RawClient> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of sims.splice(0)) await s.stop()
})

const start = async (options: SimulatorOptions) => {
  const sim = await startSimulator({ port: 0, meanBlockBytes: 2000, initialBlocks: 300, ...options })
  sims.push(sim)
  const c = await connect(sim.url)
  clients.push(c)
  return { sim, c }
}

const GOVERNANCE = ["constitution", "constitutionalCommittee", "delegateRepresentatives", "governanceProposals"]
const QUERIES = [
  "protocolParameters",
  "eraStart",
  "liveStakeDistribution",
  "stakePools",
  "operationalCertificates",
  "nonces",
  "treasuryAndReserves",
  "rewardAccountSummaries",
  "projectedRewards",
  "rewardsProvenance",
  "stakePoolsPerformances",
  "utxo",
  ...GOVERNANCE
]
const responseName = (query: string) => `QueryLedgerState${query[0]!.toUpperCase()}${query.slice(1)}Response`
const UNAVAILABLE = { code: 2002, message: "Query unavailable in the current era." }

/** Sends a query; checks the reply's envelope and schema (for the version the server speaks). */
const ask = async (c: RawClient, version: SchemaVersion, query: string, params?: unknown) => {
  const method = `queryLedgerState/${query}`
  c.send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id: query })
  const reply = await c.next()
  expect(reply.method, JSON.stringify(reply.error)).toBe(method)
  expect(reply.id).toBe(query)
  expect(validate([version], responseName(query), reply)).toEqual([])
  return reply as { result?: any; error?: { code: number; message: string } }
}

const poolIdOf = (verificationKey: string) => bech32.encode("pool", bech32.toWords(blake2b(28).update(Buffer.from(verificationKey, "hex")).digest()), false)

const networks: ReadonlyArray<[string, SimulatorOptions, "byron" | "pre-conway" | "conway"]> = [
  ["custom shelley", { era: "shelley" }, "pre-conway"],
  ["custom allegra", { era: "allegra" }, "pre-conway"],
  ["custom mary", { era: "mary" }, "pre-conway"],
  ["custom alonzo", { era: "alonzo" }, "pre-conway"],
  ["custom babbage", { era: "babbage" }, "pre-conway"],
  ["custom conway", { era: "conway" }, "conway"],
  ["custom byron", { era: "byron", epochLength: 500 }, "byron"],
  ["mainnet-shaped 251 (mary)", { network: "mainnet-shaped", epochs: { from: 251, to: 251 } }, "pre-conway"],
  ["mainnet-shaped 507 (conway)", { network: "mainnet-shaped", epochs: { from: 507, to: 507 } }, "conway"]
]

describe("every ledger-state query in every era, both schema versions", () => {
  for (const [label, options, kind] of networks) {
    for (const version of ["v6.14", "v7.0"] as const) {
      it(`${label}, server speaking ${version}`, async () => {
        const { sim, c } = await start({ seed: `lq-${label}`, ...options, ...(version === "v7.0" ? { version: "v7.0.0 (simulator)" } : {}) })
        const tipIndex = sim.chain.tipIndex
        const tipBlock = sim.chain.blockAt(sim.chain.heightOf(tipIndex)) as any
        for (const query of QUERIES) {
          const params =
            query === "projectedRewards" ? { stake: [{ ada: { lovelace: 1_000_000_000 } }] } : query === "stakePools" ? { includeStake: true } : undefined
          const reply = await ask(c, version, query, params)
          const unavailable = kind === "byron" || (kind === "pre-conway" && GOVERNANCE.includes(query))
          if (unavailable) expect(reply.error, query).toEqual(UNAVAILABLE)
          else expect(reply.error, query).toBeUndefined()
        }
        if (kind === "byron") return

        const pools = sim.chain.generator.stakePools
        const ids = pools.map((p) => p.id).sort()
        // the stake distribution: the block issuers, shares summing to 1, their VRF key hashes
        const live = (await ask(c, version, "liveStakeDistribution")).result as Record<string, { stake: string; vrf: string }>
        expect(Object.keys(live).sort()).toEqual(ids)
        let numerator = 0n
        const denominators = new Set<bigint>()
        for (const { stake } of Object.values(live)) {
          const [n, d] = stake.split("/").map(BigInt) as [bigint, bigint]
          denominators.add(d)
          numerator += (n * 10n ** 30n) / d
        }
        expect(Number(numerator) / 1e30).toBeCloseTo(1, 9)
        expect(denominators.size).toBeGreaterThan(0)
        const issuer = tipBlock.issuer as { verificationKey: string; vrfVerificationKey: string; operationalCertificate: { count: number } }
        const issuerId = poolIdOf(issuer.verificationKey)
        expect(live[issuerId]?.vrf).toBe(blake2b(32).update(Buffer.from(issuer.vrfVerificationKey, "hex")).digest("hex"))
        // operational certificate counters: the one the tip block carries for its issuer
        expect((await ask(c, version, "operationalCertificates")).result[issuerId]).toBe(issuer.operationalCertificate.count)
        // stake pools, filtered by id
        const one = (await ask(c, version, "stakePools", { stakePools: [{ id: issuerId }] })).result
        expect(Object.keys(one)).toEqual([issuerId])
        expect(one[issuerId].stake).toBeUndefined()
        expect(one[issuerId].vrfVerificationKeyHash).toBe(live[issuerId]!.vrf)
        expect(Object.keys((await ask(c, version, "stakePools")).result).sort()).toEqual(ids)
        // protocol parameters: the version the blocks announce; the era start: the last era summary's
        const parameters = (await ask(c, version, "protocolParameters")).result
        expect(parameters.version).toEqual(tipBlock.protocol.version)
        expect((await ask(c, version, "eraStart")).result).toEqual(sim.chain.eraSummaries().at(-1)!.start)
        // reward accounts: those of the generated withdrawals and proposals
        const account = sim.chain.generator.rewardAccounts[3]!
        const credential = Buffer.from(bech32.fromWords(bech32.decode(account as `${string}1${string}`, false).words)).subarray(1).toString("hex")
        const summaries = (await ask(c, version, "rewardAccountSummaries", { keys: [credential] })).result
        expect(summaries.map((s: any) => s.credential)).toEqual([credential])
        expect(ids).toContain(summaries[0].stakePool.id)
        expect((await ask(c, version, "rewardAccountSummaries", { keys: [account] })).result).toEqual(summaries)
        expect((await ask(c, version, "rewardAccountSummaries", { keys: ["00".repeat(28)] })).result).toEqual([])
        // the UTxO: outputs of the latest blocks, by address and by output reference
        const withTxs = [...Array(20).keys()].map((i) => sim.chain.blockAt(sim.chain.heightOf(tipIndex - i)) as any).find((b) => b.transactions?.length > 0)
        const tx = withTxs.transactions[0]
        const ref = { transaction: { id: tx.id }, index: tx.outputs.length - 1 }
        const byRef = (await ask(c, version, "utxo", { outputReferences: [ref] })).result
        expect(byRef).toEqual([{ ...ref, ...tx.outputs.at(-1) }])
        const byAddress = (await ask(c, version, "utxo", { addresses: [tx.outputs[0].address] })).result
        expect(byAddress.length).toBeGreaterThan(0)
        expect(byAddress.every((o: any) => o.address === tx.outputs[0].address)).toBe(true)
        expect((await ask(c, version, "utxo", { outputReferences: [{ transaction: { id: "ab".repeat(32) }, index: 0 }] })).result).toEqual([])
        if (kind === "conway") {
          const dreps = (await ask(c, version, "delegateRepresentatives")).result
          expect(dreps.filter((d: any) => d.type === "registered").map((d: any) => d.id)).toEqual(sim.chain.generator.dreps)
          const members = (await ask(c, version, "constitutionalCommittee")).result.members
          expect(members.map((m: any) => m.id)).toEqual(sim.chain.generator.committee)
          const proposals = (await ask(c, version, "governanceProposals")).result
          expect(proposals.length).toBeGreaterThan(0)
          const wanted = proposals[0].proposal
          expect((await ask(c, version, "governanceProposals", { proposals: [wanted] })).result).toEqual([proposals[0]])
        }
      }, 120_000)
    }
  }
})

describe("the official @cardano-ogmios/client LedgerStateQuery client", () => {
  const contextFor = (sim: SimulatorHandle) =>
    createInteractionContext(
      (error) => {
        throw error
      },
      () => {},
      { connection: { host: "127.0.0.1", port: sim.port } }
    )

  it("every query answers on a Conway devnet, inside an acquired state too", async () => {
    const { sim } = await start({ seed: "official-lsq", era: "conway" })
    const client = await createLedgerStateQueryClient(await contextFor(sim))
    try {
      const pools = sim.chain.generator.stakePools.map((p) => p.id)
      const parameters = await client.protocolParameters()
      expect(parameters.version).toEqual({ major: 9, minor: 0 })
      expect(await client.eraStart()).toEqual(sim.chain.eraSummaries().at(-1)!.start)
      expect(Object.keys(await client.liveStakeDistribution()).sort()).toEqual([...pools].sort())
      expect(Object.keys(await client.stakePools([{ id: pools[0]! as never }], true))).toEqual([pools[0]])
      expect((await client.stakePoolsPerformances()).desiredNumberOfStakePools).toBeGreaterThan(0)
      expect(Object.keys(await client.projectedRewards({ stake: [{ ada: { lovelace: 10_000_000_000n } }] } as never))).toEqual(["10000000000"])
      expect(await client.rewardAccountSummaries({ keys: [sim.chain.generator.rewardAccounts[0]! as never] })).toHaveLength(1)
      const recent = [...Array(20).keys()].map((i) => sim.chain.blockAt(sim.chain.heightOf(sim.chain.tipIndex - i)) as any)
      const output = recent.find((b) => b.transactions?.length > 0).transactions[0].outputs[0]
      expect((await client.utxo({ addresses: [output.address] } as never)).map((o: any) => o.address)).toContain(output.address)
      // the queries the server answers itself, through the same client
      const tip = sim.chain.tip() as { slot: number; id: string; height: number }
      expect(await client.networkTip()).toEqual({ slot: tip.slot, id: tip.id })
      expect(await client.ledgerTip()).toEqual({ slot: tip.slot, id: tip.id })
      expect(await client.networkBlockHeight()).toBe(tip.height)
      expect(await client.epoch()).toBe(sim.chain.currentEpoch())
      expect((await client.networkStartTime()).getTime()).toBe(sim.chain.network.systemStart.getTime())
      expect(await client.eraSummaries()).toEqual(sim.chain.eraSummaries())
      expect((await client.genesisConfiguration("conway")).era).toBe("conway")
      expect((await client.constitution()).metadata.url).toMatch(/^ipfs:/)
      expect((await client.governanceProposals()).length).toBeGreaterThan(0)
      // inside an acquired state the queries answer for that point
      const point = sim.chain.pointAt(sim.chain.tipIndex - 5) as { slot: number; id: string }
      await client.acquireLedgerState(point)
      sim.forge(3)
      expect(await client.ledgerTip()).toEqual(point)
      expect((await client.protocolParameters()).version).toEqual({ major: 9, minor: 0 })
      await client.releaseLedgerState()
    } finally {
      await client.shutdown()
    }
  })

  it("where Ogmios answers 2002 the client resolves undefined: its default handler accepts any reply carrying the method, and Ogmios' errors carry it", async () => {
    // the same reply, raw: an error with the method (what Ogmios sends and its schema requires)
    const { sim, c } = await start({ seed: "official-2002", era: "alonzo" })
    c.send({ jsonrpc: "2.0", method: "queryLedgerState/constitution", id: 1 })
    expect(await c.next()).toEqual({ jsonrpc: "2.0", method: "queryLedgerState/constitution", error: UNAVAILABLE, id: 1 })
    const client = await createLedgerStateQueryClient(await contextFor(sim))
    try {
      expect(await client.constitution()).toBeUndefined()
      expect(await client.governanceProposals()).toBeUndefined()
      // queries with a result check of their own do reject; so does anything unroutable (no method)
      await expect(client.genesisConfiguration("mary" as never)).rejects.toMatchObject({ code: -32600 })
    } finally {
      await client.shutdown()
    }
  })
})

describe("cardano-js-sdk OgmiosCardanoNode.stakeDistribution()", () => {
  const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, trace: () => {}, fatal: () => {}, child: () => silent }
  const nodeFor = async (sim: SimulatorHandle) => {
    const observable = new OgmiosObservableCardanoNode({ connectionConfig$: of({ host: "127.0.0.1", port: sim.port }) }, { logger: silent as never })
    const node = new OgmiosCardanoNode(observable, silent as never)
    await node.initialize()
    await node.start()
    return node
  }

  for (const [label, options] of [
    ["custom conway", { era: "conway" }],
    ["mainnet-shaped 507", { network: "mainnet-shaped", epochs: { from: 507, to: 507 } }]
  ] as const) {
    it(`maps the live stake distribution of ${label}: the block issuers, shares summing to 1`, async () => {
      const { sim } = await start({ seed: `sdk-stake-${label}`, ...(options as SimulatorOptions) })
      const node = await nodeFor(sim)
      try {
        const distribution = await node.stakeDistribution()
        const pools = sim.chain.generator.stakePools
        expect(distribution.size).toBe(pools.length)
        let share = 0
        for (const pool of pools) {
          const entry = distribution.get(pool.id as never)!
          expect(entry.vrf).toBe(pool.vrfVerificationKeyHash)
          share += Number(entry.stake.pool) / Number(entry.stake.supply)
        }
        expect(share).toBeCloseTo(1, 9)
      } finally {
        await node.shutdown()
      }
    })
  }

  it("fails on a Byron devnet, as against a Byron-era node (no ledger-state query is available there)", { timeout: 60_000 }, async () => {
    const { sim } = await start({ seed: "sdk-stake-byron", era: "byron", epochLength: 500 })
    const node = await nodeFor(sim)
    try {
      // the official client resolves the 2002 reply to undefined, which the SDK cannot map: its
      // node retries the query until its timeout, as it would against a Byron-era Ogmios
      const error = await node.stakeDistribution().then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toBe("Timeout")
    } finally {
      await node.shutdown()
    }
  })
})
