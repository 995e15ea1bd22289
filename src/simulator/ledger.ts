/**
 * The ledger state behind `queryLedgerState/*`: what a node's ledger would report for the
 * simulated chain at a point, in the Ogmios encoding of the era in force there.
 *
 * The simulator keeps no real ledger, so the state is derived, deterministically per seed and
 * network, from what the chain's blocks show: the stake pools are the block issuers (their ids
 * are the hashes of the issuers' cold keys, their VRF key hashes those of the headers' VRF keys,
 * their operational-certificate counters those the headers carry), reward accounts, DReps and
 * committee members are those of the generated certificates, withdrawals and votes; the
 * protocol parameters are the genesis parameters with each era's additions and the protocol
 * version the blocks announce. Amounts (stake, rewards, pots) are plausible magnitudes, not the
 * outcome of applying the blocks.
 *
 * Which query a ledger answers follows Ogmios: none while the ledger is still Byron, the
 * governance queries (constitution, committee, DReps, proposals) only from Conway on; both
 * answer 2002 "Query unavailable in the current era." otherwise.
 */
import { bech32 } from "@scure/base"
import { parse } from "../json/lossless.js"
import type { Chain } from "./chain.js"
import type { StakePoolKeys } from "./generator.js"
import { decodeCredential, decodePoolId, isAddress } from "./identifiers.js"
import { PRAOS_ERAS, type Era, type PraosEra } from "./mainnet.js"
import { Rng, sha256Hex } from "./rng.js"

/** The point a query runs against (the acquired one, or the tip). */
export interface LedgerPoint {
  readonly slot: number
  readonly era: Era
  /** the blocks whose outputs the UTxO set holds at this point, oldest first */
  readonly utxoBlocks: () => ReadonlyArray<Buffer>
}

/** Most recent blocks whose outputs the simulated UTxO set holds (older outputs count as spent). */
const UTXO_WINDOW = 100

/**
 * The ledger state after the block at `index` (-1: the genesis state). A `frozen` point keeps the
 * blocks it was taken on, as an acquired ledger state does: a fork that later replaces them, or
 * blocks forged after it, do not change what it answers. An unfrozen one reads the chain when
 * asked (the volatile tip).
 */
export const ledgerPointAt = (chain: Chain, index: number, frozen: boolean): LedgerPoint => {
  const era = chain.ledgerEraAt(index)
  const read = () => {
    const blocks: Array<Buffer> = []
    for (let i = Math.max(0, index - UTXO_WINDOW + 1); i <= index; i++) blocks.push(chain.blockBuffer(i))
    return blocks
  }
  // a Byron ledger answers no UTxO query: nothing to keep
  const kept = frozen ? (era === "byron" ? [] : read()) : undefined
  return { slot: index < 0 ? 0 : chain.slotAt(index), era, utxoBlocks: kept === undefined ? read : () => kept }
}

export type Answer =
  | { readonly result: unknown }
  | { readonly error: { readonly code: number; readonly message: string; readonly data?: unknown } }
  /** malformed parameters: the server answers -32600 with this text */
  | { readonly invalid: string }

const UNAVAILABLE: Answer = { error: { code: 2002, message: "Query unavailable in the current era." } }

const ada = (lovelace: bigint | number) => ({ ada: { lovelace: typeof lovelace === "bigint" ? lovelace : BigInt(lovelace) } })

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b]
  return a < 0n ? -a : a
}
/** Ogmios writes rationals as reduced "n/d" strings. */
const ratio = (n: bigint, d: bigint): string => {
  const g = gcd(n, d) || 1n
  return `${n / g}/${d / g}`
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const ERA_RANK: Readonly<Record<PraosEra, number>> = Object.fromEntries(PRAOS_ERAS.map((era, i) => [era, i])) as Record<PraosEra, number>
const atLeast = (era: PraosEra, than: PraosEra) => ERA_RANK[era] >= ERA_RANK[than]

/** Queries that exist only from Conway on (Ogmios answers 2002 in earlier eras). */
const GOVERNANCE = new Set(["constitution", "constitutionalCommittee", "delegateRepresentatives", "governanceProposals"])

/** Queries taking no parameters (an empty object is accepted, as by Ogmios). */
export const PARAMETERLESS_LEDGER_QUERIES = new Set([
  "constitution",
  "constitutionalCommittee",
  "eraStart",
  "liveStakeDistribution",
  "nonces",
  "operationalCertificates",
  "protocolParameters",
  "rewardsProvenance",
  "stakePoolsPerformances",
  "treasuryAndReserves"
])

/** Every `queryLedgerState/<name>` served here (tip, epoch and era summaries are the server's). */
export const LEDGER_QUERIES = new Set([...PARAMETERLESS_LEDGER_QUERIES, "delegateRepresentatives", "governanceProposals", "projectedRewards", "rewardAccountSummaries", "stakePools", "utxo"])

/** Plutus cost-model sizes per language (V3 as of protocol version 10). */
const COST_MODEL_SIZES = { "plutus:v1": 166, "plutus:v2": 175, "plutus:v3": 297 } as const

interface PoolState extends StakePoolKeys {
  readonly stake: bigint
  readonly pledge: bigint
  readonly cost: bigint
  readonly margin: string
  readonly rewardAccount: string
  readonly owners: ReadonlyArray<string>
  readonly relays: ReadonlyArray<unknown>
  readonly metadata: { readonly url: string; readonly hash: string }
}

export class LedgerState {
  private readonly pools: ReadonlyArray<PoolState>
  private readonly totalStake: bigint
  private readonly accounts: ReadonlyArray<{ readonly account: string; readonly from: "verificationKey" | "script"; readonly credential: string; readonly pool: number; readonly rewards: bigint }>
  private readonly costModels: Record<keyof typeof COST_MODEL_SIZES, ReadonlyArray<number>>
  private readonly mainnet: boolean

  constructor(
    private readonly chain: Chain,
    /** the server speaks Ogmios v7 (field names of Conway parameters differ from v6.14) */
    private readonly v7: boolean
  ) {
    const generator = chain.generator
    this.mainnet = chain.network.kind === "mainnet-shaped"
    const rng = Rng.fromString(`${chain.seed}/${chain.network.kind}/${chain.network.networkMagic}/ledger`)
    const hex = (bytes: number) => {
      let s = ""
      for (let i = 0; i < bytes; i++) s += (rng.nextU32() & 0xff).toString(16).padStart(2, "0")
      return s
    }
    // stake per pool: a long-tailed spread (a few large pools, many small ones), about mainnet's
    // 22 billion ada staked on a mainnet-shaped network, a billion on a devnet
    const scale = this.mainnet ? 22_000_000_000_000_000n : 1_000_000_000_000_000n
    const weights = generator.stakePools.map(() => 1 + Math.floor(1000 * (-Math.log(1 - rng.next())) ** 2))
    const sum = BigInt(weights.reduce((a, b) => a + b, 0))
    const accounts = generator.rewardAccounts
    this.pools = generator.stakePools.map((keys, i) => {
      const owner = accounts[i % accounts.length]!
      return {
        ...keys,
        stake: (scale * BigInt(weights[i]!)) / sum,
        pledge: BigInt(rng.range(1, 5_000)) * 1_000_000_000n,
        cost: BigInt(rng.pick([170, 170, 170, 340, 500])) * 1_000_000n,
        margin: ratio(BigInt(rng.int(51)), 1000n),
        rewardAccount: owner,
        owners: [credentialOf(owner).credential],
        relays: [{ type: "hostname", hostname: `relay${i}.pool${i}.example`, port: 3001 }],
        metadata: { url: `https://pool${i}.example/metadata.json`, hash: hex(32) }
      }
    })
    this.totalStake = this.pools.reduce((a, p) => a + p.stake, 0n)
    this.accounts = accounts.map((account, i) => ({
      account,
      ...credentialOf(account),
      pool: i % this.pools.length,
      rewards: BigInt(rng.int(5_000)) * 1_000_000n + BigInt(rng.int(1_000_000))
    }))
    const model = (n: number) => Array.from({ length: n }, () => (rng.chance(0.3) ? rng.int(1000) : rng.range(10_000, 40_000_000)))
    const alonzo = chain.genesis.alonzo.updatableParameters.plutusCostModels["plutus:v1"]
    this.costModels = { "plutus:v1": alonzo, "plutus:v2": model(COST_MODEL_SIZES["plutus:v2"]), "plutus:v3": model(COST_MODEL_SIZES["plutus:v3"]) }
  }

  /** Answers `queryLedgerState/<name>` at `point`; undefined for a query not served here. */
  answer(name: string, point: LedgerPoint, params: unknown): Answer | undefined {
    if (!LEDGER_QUERIES.has(name)) return undefined
    if (PARAMETERLESS_LEDGER_QUERIES.has(name) && params !== undefined && !(isPlainObject(params) && Object.keys(params).length === 0)) {
      return { invalid: `'queryLedgerState/${name}' takes no parameters` }
    }
    if (params !== undefined && !isPlainObject(params)) return { invalid: `'params' of 'queryLedgerState/${name}' must be an object` }
    const era = point.era
    if (era === "byron") return UNAVAILABLE
    if (GOVERNANCE.has(name) && !atLeast(era, "conway")) return UNAVAILABLE
    const epoch = this.chain.network.epochOf(point.slot)
    const p = (params ?? {}) as Record<string, unknown>
    switch (name) {
      case "protocolParameters":
        return { result: this.protocolParameters(era, epoch) }
      case "eraStart":
        return { result: this.chain.network.eraSummaries(point.slot).at(-1)!.start }
      case "liveStakeDistribution":
        return {
          result: Object.fromEntries(this.pools.map((pool) => [pool.id, { stake: ratio(pool.stake, this.totalStake), vrf: pool.vrfVerificationKeyHash }]))
        }
      case "stakePools":
        return this.stakePools(p)
      case "operationalCertificates": {
        // the latest counter each pool's blocks carry: one more every 62 KES periods
        const kesPeriod = Math.floor(point.slot / this.chain.network.slotsPerKesPeriod)
        return { result: Object.fromEntries(this.pools.map((pool) => [pool.id, pool.count + Math.floor(kesPeriod / 62)])) }
      }
      case "nonces": {
        const nonce = (what: string) => sha256Hex(`${this.chain.seed}/${this.chain.network.networkMagic}/nonce/${what}`)
        return {
          result: {
            epochNonce: nonce(`epoch/${epoch}`),
            candidateNonce: nonce(`candidate/${epoch}`),
            evolvingNonce: nonce(`evolving/${point.slot}`),
            lastEpochLastAncestor: nonce(`ancestor/${epoch - 1}`)
          }
        }
      }
      case "treasuryAndReserves":
        return { result: this.pots(epoch) }
      case "rewardAccountSummaries":
        return this.rewardAccountSummaries(p, era)
      case "projectedRewards":
        return this.projectedRewards(p)
      case "rewardsProvenance":
        return { result: this.rewardsProvenance(epoch) }
      case "stakePoolsPerformances":
        return { result: this.stakePoolsPerformances(era, epoch) }
      case "utxo":
        return this.utxo(p, point)
      case "constitution": {
        const { metadata, guardrails } = this.chain.genesis.conway.constitution
        return { result: { metadata, guardrails } }
      }
      case "constitutionalCommittee":
        return {
          result: {
            members: this.chain.generator.committee.map((id, i) => ({
              from: "verificationKey",
              id,
              delegate: { status: "authorized", from: "verificationKey", id: sha256Hex(`${this.chain.seed}/hot/${id}`).slice(0, 56) },
              status: "active",
              mandate: { epoch: epoch + 20 + 10 * i }
            })),
            quorum: "2/3"
          }
        }
      case "delegateRepresentatives":
        return this.delegateRepresentatives(p, epoch)
      case "governanceProposals":
        return this.governanceProposals(p, epoch)
    }
    return undefined
  }

  // ------------------------------------------------------------------ parameters and pots

  /** The protocol parameters in force: the genesis ones with each era's additions, in the era's encoding. */
  private protocolParameters(era: PraosEra, epoch: number) {
    const shelley = this.chain.genesis.shelley.initialParameters
    const version = this.chain.network.protocolVersionOf(epoch)
    const base = {
      minFeeCoefficient: shelley.minFeeCoefficient,
      minFeeConstant: ada(shelley.minFeeConstant.ada.lovelace),
      maxBlockBodySize: shelley.maxBlockBodySize,
      maxBlockHeaderSize: shelley.maxBlockHeaderSize,
      maxTransactionSize: shelley.maxTransactionSize,
      stakeCredentialDeposit: ada(shelley.stakeCredentialDeposit.ada.lovelace),
      stakePoolDeposit: ada(shelley.stakePoolDeposit.ada.lovelace),
      stakePoolRetirementEpochBound: shelley.stakePoolRetirementEpochBound,
      desiredNumberOfStakePools: shelley.desiredNumberOfStakePools,
      stakePoolPledgeInfluence: shelley.stakePoolPledgeInfluence,
      monetaryExpansion: shelley.monetaryExpansion,
      treasuryExpansion: shelley.treasuryExpansion,
      minStakePoolCost: ada(shelley.minStakePoolCost.ada.lovelace)
    }
    if (!atLeast(era, "alonzo")) {
      return {
        ...base,
        // mainnet's Shelley era was still partly federated; a devnet starts decentralised
        federatedBlockProductionRatio: this.mainnet ? ratio(BigInt(Math.min(50, Math.max(0, 257 - epoch))), 50n) : "0/1",
        extraEntropy: "neutral",
        minUtxoDepositConstant: ada(1_000_000),
        minUtxoDepositCoefficient: 0,
        version
      }
    }
    // from Alonzo on: mainnet's later limits (bigger blocks, 500 pools, a lower minimum cost)
    const alonzo = this.chain.genesis.alonzo.updatableParameters
    const plutus = {
      ...base,
      maxBlockBodySize: { bytes: 90_112 },
      desiredNumberOfStakePools: 500,
      minStakePoolCost: ada(170_000_000),
      minUtxoDepositConstant: ada(0),
      // lovelace per UTxO word (8 bytes) in Alonzo, per byte from Babbage on
      minUtxoDepositCoefficient: atLeast(era, "babbage") ? 4310 : 34_482,
      plutusCostModels: atLeast(era, "conway")
        ? { ...this.costModels }
        : atLeast(era, "babbage")
          ? { "plutus:v1": this.costModels["plutus:v1"], "plutus:v2": this.costModels["plutus:v2"] }
          : { "plutus:v1": this.costModels["plutus:v1"] },
      scriptExecutionPrices: alonzo.scriptExecutionPrices,
      maxExecutionUnitsPerTransaction: { memory: 14_000_000, cpu: 10_000_000_000 },
      maxExecutionUnitsPerBlock: { memory: 62_000_000, cpu: 20_000_000_000 },
      maxValueSize: alonzo.maxValueSize,
      collateralPercentage: alonzo.collateralPercentage,
      maxCollateralInputs: alonzo.maxCollateralInputs,
      version
    }
    if (era === "alonzo") return { ...plutus, federatedBlockProductionRatio: "0/1", extraEntropy: "neutral" }
    if (era === "babbage") return plutus
    const conway = this.chain.genesis.conway.updatableParameters
    const { minFeeCoefficient, minFeeConstant, maxBlockBodySize, maxBlockHeaderSize, maxTransactionSize, version: _, ...rest } = plutus
    return {
      minFeeCoefficient,
      minFeeConstant,
      minFeeReferenceScripts: { range: 25_600, base: 15, multiplier: 1.2 },
      maxBlockBodySize,
      maxBlockHeaderSize,
      maxTransactionSize,
      // Ogmios v7 calls the limit on the size of reference-input scripts per transaction by a longer name
      ...(this.v7 ? { maxReferenceScriptsSizePerTransaction: { bytes: 204_800 } } : { maxReferenceScriptsSize: { bytes: 204_800 } }),
      ...rest,
      version,
      stakePoolVotingThresholds: conway.stakePoolVotingThresholds,
      delegateRepresentativeVotingThresholds: conway.delegateRepresentativeVotingThresholds,
      constitutionalCommitteeMinSize: conway.constitutionalCommitteeMinSize,
      constitutionalCommitteeMaxTermLength: conway.constitutionalCommitteeMaxTermLength,
      governanceActionLifetime: conway.governanceActionLifetime,
      governanceActionDeposit: ada(conway.governanceActionDeposit.ada.lovelace),
      delegateRepresentativeDeposit: ada(conway.delegateRepresentativeDeposit.ada.lovelace),
      delegateRepresentativeMaxIdleTime: conway.delegateRepresentativeMaxIdleTime
    }
  }

  /** Treasury and reserves: the reserves shrink by the monetary expansion (0.3 %) every epoch, a fifth of it goes to the treasury. */
  private pots(epoch: number) {
    const first = this.mainnet ? 208 : 0
    let reserves = this.mainnet ? 13_286_160_713_000_000n : 14_000_000_000_000_000n
    let treasury = 0n
    for (let e = first; e < epoch; e++) {
      const expansion = (reserves * 3n) / 1000n
      reserves -= expansion
      treasury += expansion / 5n
    }
    return { treasury: ada(treasury), reserves: ada(reserves) }
  }

  private epochRewards(epoch: number): bigint {
    const { reserves } = this.pots(epoch)
    return ((reserves.ada.lovelace * 3n) / 1000n) * 4n / 5n
  }

  private rewardsProvenance(epoch: number) {
    const totalRewards = this.epochRewards(epoch)
    const incentives = (totalRewards * 5n) / 4n
    return {
      totalStake: ada(this.totalStake + this.totalStake / 3n),
      activeStake: ada(this.totalStake),
      fees: ada(BigInt(20_000 + (epoch % 7) * 1000) * 1_000_000n),
      incentives: ada(incentives),
      treasuryTax: ada(incentives - totalRewards),
      totalRewards: ada(totalRewards),
      efficiency: "19/20",
      stakePools: Object.fromEntries(
        this.pools.map((pool) => {
          const rewards = (totalRewards * pool.stake) / this.totalStake
          return [
            pool.id,
            {
              relativeStake: ratio(pool.stake, this.totalStake),
              // the pool's share of the epoch's f x epochLength blocks
              blocksMade: Math.round((this.chain.network.epochLength * this.chain.network.activeSlotsCoefficient * Number((pool.stake * 1_000_000n) / this.totalStake)) / 1_000_000),
              totalRewards: ada(rewards),
              leaderReward: ada(pool.cost + rewards / 50n),
              delegators: []
            }
          ]
        })
      )
    }
  }

  private stakePoolsPerformances(era: PraosEra, epoch: number) {
    const parameters = this.protocolParameters(era, epoch)
    return {
      desiredNumberOfStakePools: parameters.desiredNumberOfStakePools,
      stakePoolPledgeInfluence: parameters.stakePoolPledgeInfluence,
      totalRewardsInEpoch: ada(this.epochRewards(epoch)),
      activeStakeInEpoch: ada(this.totalStake),
      totalStakeInEpoch: ada(this.totalStake + this.totalStake / 3n),
      stakePools: Object.fromEntries(
        this.pools.map((pool, i) => [
          pool.id,
          {
            id: pool.id,
            stake: ada(pool.stake),
            ownerStake: ada(pool.pledge + BigInt(i) * 1_000_000n),
            approximatePerformance: 0.9 + (i % 10) / 100,
            parameters: { cost: ada(pool.cost), margin: pool.margin, pledge: ada(pool.pledge) }
          }
        ])
      )
    }
  }

  // ------------------------------------------------------------------ filtered queries

  private stakePools(params: Record<string, unknown>): Answer {
    const { stakePools, includeStake } = params
    if (stakePools !== undefined && !(Array.isArray(stakePools) && stakePools.every((s) => isPlainObject(s) && typeof s.id === "string"))) {
      return { invalid: "'stakePools' must be a list of {\"id\": <pool id>}" }
    }
    if (includeStake !== undefined && typeof includeStake !== "boolean") return { invalid: "'includeStake' must be a boolean" }
    let wanted: Set<string> | undefined
    if (stakePools !== undefined) {
      wanted = new Set()
      for (const { id } of stakePools as Array<{ id: string }>) {
        const pool = decodePoolId(id)
        if (pool === undefined) return { invalid: `couldn't decode stake pool id ${JSON.stringify(id)} in neither bech32 nor base16` }
        wanted.add(pool)
      }
    }
    const result: Record<string, unknown> = {}
    for (const pool of this.pools) {
      if (wanted && !wanted.has(pool.id)) continue
      result[pool.id] = {
        id: pool.id,
        vrfVerificationKeyHash: pool.vrfVerificationKeyHash,
        pledge: ada(pool.pledge),
        cost: ada(pool.cost),
        margin: pool.margin,
        rewardAccount: pool.rewardAccount,
        owners: pool.owners,
        relays: pool.relays,
        metadata: pool.metadata,
        ...(includeStake === true ? { stake: ada(pool.stake) } : {})
      }
    }
    return { result }
  }

  /**
   * The credentials of a `keys` / `scripts` filter: hex, bech32 credentials (`stake_vkh` /
   * `script`, or `drep_vkh` / `drep_script`) or stake addresses; one that does not decode makes
   * the request invalid, as Ogmios's decoder fails.
   */
  private credentials(params: Record<string, unknown>, kind: "staking" | "drep"): Set<string> | { invalid: string } | undefined {
    const out = new Set<string>()
    let given = false
    for (const key of ["keys", "scripts"]) {
      const list = params[key]
      if (list === undefined) continue
      given = true
      if (!Array.isArray(list) || !list.every((c) => typeof c === "string")) return { invalid: `'${key}' must be a list of credentials` }
      for (const c of list as Array<string>) {
        const credential = decodeCredential(c, kind)
        if (credential === undefined) return { invalid: `invalid credential in '${key}': ${c}` }
        out.add(credential)
      }
    }
    return given ? out : undefined
  }

  /** Without a `keys` / `scripts` filter: none (Ogmios asks the ledger for an empty set of credentials). */
  private rewardAccountSummaries(params: Record<string, unknown>, era: PraosEra): Answer {
    const filter = this.credentials(params, "staking") ?? new Set<string>()
    if (!(filter instanceof Set)) return filter
    const drep = (i: number) => {
      const dreps = this.chain.generator.dreps
      return i % 5 === 0 ? { type: "abstain" } : { type: "registered", from: "verificationKey", id: dreps[i % dreps.length]! }
    }
    return {
      result: this.accounts
        .map((a, i) => ({ a, i }))
        .filter(({ a }) => filter.has(a.credential))
        .map(({ a, i }) => ({
          from: a.from,
          credential: a.credential,
          stakePool: { id: this.pools[a.pool]!.id },
          ...(atLeast(era, "conway") ? { delegateRepresentative: drep(i) } : {}),
          rewards: ada(a.rewards),
          deposit: ada(2_000_000)
        }))
    }
  }

  private projectedRewards(params: Record<string, unknown>): Answer {
    const { stake } = params
    if (stake !== undefined && !(Array.isArray(stake) && stake.every((s) => lovelaceOf(s) !== undefined))) {
      return { invalid: "'stake' must be a list of {\"ada\": {\"lovelace\": <integer>}}" }
    }
    const filter = this.credentials(params, "staking")
    if (filter !== undefined && !(filter instanceof Set)) return filter
    const perAda = (amount: bigint) =>
      Object.fromEntries(this.pools.map((pool) => [pool.id, ada((amount * 27n) / 10_000n)]))
    const result: Record<string, unknown> = {}
    for (const s of (stake ?? []) as Array<unknown>) {
      const amount = lovelaceOf(s)!
      result[String(amount)] = perAda(amount)
    }
    for (const a of this.accounts) {
      if (filter?.has(a.credential)) result[a.credential] = { [this.pools[a.pool]!.id]: ada(a.rewards / 73n) }
    }
    return { result }
  }

  private delegateRepresentatives(params: Record<string, unknown>, epoch: number): Answer {
    const filter = this.credentials(params, "drep")
    if (filter !== undefined && !(filter instanceof Set)) return filter
    const delegators = (i: number) =>
      this.accounts.filter((_, j) => j % 5 !== 0 && j % this.chain.generator.dreps.length === i).map((a) => ({ from: a.from, credential: a.credential }))
    const registered = this.chain.generator.dreps
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => filter === undefined || filter.has(id))
      .map(({ id, i }) => ({
        type: "registered",
        from: "verificationKey",
        id,
        mandate: { epoch: epoch + 20 - (i % 5) },
        deposit: ada(500_000_000),
        stake: ada(BigInt(1 + i) * 1_000_000_000_000n),
        delegators: delegators(i)
      }))
    const abstainers = this.accounts.filter((_, j) => j % 5 === 0).map((a) => ({ from: a.from, credential: a.credential }))
    // the two protocol DReps are always listed, as Ogmios does
    return {
      result: [
        ...registered,
        { type: "abstain", stake: ada(BigInt(abstainers.length) * 1_000_000_000_000n), delegators: abstainers },
        { type: "noConfidence", stake: ada(0), delegators: [] }
      ]
    }
  }

  /** Active proposals: information actions submitted in each of the last few epochs, with DRep votes. */
  private governanceProposals(params: Record<string, unknown>, epoch: number): Answer {
    const { proposals } = params
    if (proposals !== undefined && !(Array.isArray(proposals) && proposals.every(isProposalReference))) {
      return { invalid: "'proposals' must be a list of {\"transaction\": {\"id\": <id>}, \"index\": <n>}" }
    }
    const lifetime = this.chain.genesis.conway.updatableParameters.governanceActionLifetime
    const all = []
    for (let since = Math.max(0, epoch - lifetime + 1); since <= epoch; since++) {
      const id = sha256Hex(`${this.chain.seed}/${this.chain.network.networkMagic}/proposal/${since}`)
      const dreps = this.chain.generator.dreps
      all.push({
        proposal: { transaction: { id }, index: 0 },
        deposit: ada(this.chain.genesis.conway.updatableParameters.governanceActionDeposit.ada.lovelace),
        returnAccount: this.accounts[since % this.accounts.length]!.account,
        metadata: { url: `https://gov.example/proposal-${since}.jsonld`, hash: sha256Hex(id) },
        action: { type: "information" },
        since: { epoch: since },
        until: { epoch: since + lifetime },
        votes: dreps.slice(0, 1 + (since % 4)).map((drep, i) => ({
          issuer: { role: "delegateRepresentative", from: "verificationKey", id: drep },
          vote: i % 3 === 2 ? "no" : "yes"
        }))
      })
    }
    const wanted = proposals as Array<{ transaction: { id: string }; index: number }> | undefined
    return {
      result: wanted === undefined ? all : all.filter((p) => wanted.some((w) => w.transaction.id === p.proposal.transaction.id && w.index === p.proposal.index))
    }
  }

  /**
   * The UTxO by address or output reference (or all of it): outputs of the last blocks, whose
   * transactions have not been spent since (the generated inputs spend outputs older than that).
   */
  private utxo(params: Record<string, unknown>, point: LedgerPoint): Answer {
    // Ogmios's order: by output reference, else by address, else all of it (no other parameter)
    const { addresses, outputReferences } = params
    const references = Array.isArray(outputReferences) && outputReferences.every(isProposalReference) ? (outputReferences as Array<{ transaction: { id: string }; index: number }>) : undefined
    const byAddresses = references === undefined && Array.isArray(addresses) && addresses.every((a) => typeof a === "string" && isAddress(a)) ? (addresses as Array<string>) : undefined
    if (references === undefined && byAddresses === undefined && Object.keys(params).length > 0) {
      if (outputReferences !== undefined) return { invalid: "'outputReferences' must be a list of {\"transaction\": {\"id\": <id>}, \"index\": <n>}" }
      if (addresses !== undefined) return { invalid: "'addresses' must be a list of addresses (bech32, base58 or base16)" }
      return { invalid: "'queryLedgerState/utxo' takes 'addresses', 'outputReferences' or no parameters" }
    }
    const byAddress = byAddresses === undefined ? undefined : new Set(byAddresses)
    const byReference = references === undefined ? undefined : new Set(references.map((r) => `${r.transaction.id}#${r.index}`))
    const result: Array<unknown> = []
    for (const buffer of point.utxoBlocks()) {
      const block = parse(buffer.toString("utf8")) as { transactions?: Array<{ id: string; outputs?: Array<Record<string, unknown>> }> }
      for (const tx of block.transactions ?? []) {
        ;(tx.outputs ?? []).forEach((output, index) => {
          if (byAddress && !byAddress.has(output.address as string)) return
          if (byReference && !byReference.has(`${tx.id}#${index}`)) return
          result.push({ transaction: { id: tx.id }, index, ...output })
        })
      }
    }
    return { result }
  }
}

const isProposalReference = (value: unknown): boolean =>
  isPlainObject(value) &&
  isPlainObject(value.transaction) &&
  typeof value.transaction.id === "string" &&
  /^[0-9a-f]{64}$/.test(value.transaction.id) &&
  Number.isSafeInteger(value.index) &&
  (value.index as number) >= 0

const lovelaceOf = (value: unknown): bigint | undefined => {
  if (!isPlainObject(value) || !isPlainObject(value.ada)) return undefined
  const l = value.ada.lovelace
  return typeof l === "bigint" ? l : typeof l === "number" && Number.isSafeInteger(l) && l >= 0 ? BigInt(l) : undefined
}

/** A reward account's credential (hex) and whether it is a key or a script. */
const credentialOf = (account: string): { readonly from: "verificationKey" | "script"; readonly credential: string } => {
  const bytes = Buffer.from(bech32.fromWords(bech32.decode(account as `${string}1${string}`, false).words))
  return { from: (bytes[0]! & 0x10) !== 0 ? "script" : "verificationKey", credential: bytes.subarray(1).toString("hex") }
}
