/**
 * `queryNetwork/genesisConfiguration` for `era: "byron" | "alonzo" | "conway"` (the Shelley one is
 * in network.ts), in the Ogmios encoding of the node's genesis files. A node has every genesis
 * file configured whatever era it is in, so every network serves all four.
 *
 * Values: mainnet's genesis parameters where they are known to this project (Byron k, magic,
 * start, slot length, fee policy and update thresholds; Alonzo execution limits and prices;
 * Conway thresholds, deposits and lifetimes), the configured ones on a custom network. Keys,
 * hashes and cost-model coefficients are derived from the seed: they are not part of our sources,
 * and clients only check their shape.
 */
import { byronAddress } from "./identifiers.js"
import type { Network } from "./network.js"
import { Rng } from "./rng.js"

const ada = (lovelace: number | bigint) => ({ ada: { lovelace } })

const hexOf = (rng: Rng) => (bytes: number) => {
  let s = ""
  for (let i = 0; i < bytes; i++) s += (rng.nextU32() & 0xff).toString(16).padStart(2, "0")
  return s
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z")

/** Byron genesis: the OBFT genesis keys and their delegation certificates, balances, k, magic and update parameters. */
export const byronGenesis = (network: Network, seed: string) => {
  const rng = Rng.fromString(`${seed}/genesis/byron`)
  const hex = hexOf(rng)
  const mainnet = network.kind === "mainnet-shaped"
  const keys = Array.from({ length: 7 }, () => hex(28))
  // Byron slot length: 20 s on mainnet; a devnet's (empty or not) Byron era runs on its own slot length
  const slotDuration = mainnet ? 20_000 : network.slotLengthMs
  return {
    era: "byron",
    genesisKeyHashes: keys,
    // delegates sign Byron blocks with extended (64-byte) keys
    genesisDelegations: Object.fromEntries(keys.map((key) => [key, { issuer: { verificationKey: hex(64) }, delegate: { verificationKey: hex(64) } }])),
    startTime: isoSeconds(network.systemStart),
    // mainnet's initial Byron balances are all AVVM vouchers (redeem keys); a devnet funds addresses
    initialFunds: mainnet
      ? {}
      : Object.fromEntries(
          Array.from({ length: 4 }, (_, i) => [byronAddress(rng, { derivationPath: false, protocolMagic: network.name === "mainnet" ? undefined : network.networkMagic }), ada(i === 0 ? 30_000_000_000_000_000n : 0)])
        ),
    initialVouchers: {},
    securityParameter: network.securityParameter,
    networkMagic: network.networkMagic,
    updatableParameters: {
      scriptVersion: 0,
      slotDuration,
      maxBlockBodySize: { bytes: 2_000_000 },
      maxBlockHeaderSize: { bytes: 2_000_000 },
      maxTransactionSize: { bytes: 4096 },
      maxUpdateProposalSize: { bytes: 700 },
      multiPartyComputationThreshold: "1/50",
      heavyDelegationThreshold: "3/10000",
      updateVoteThreshold: "1/1000",
      updateProposalThreshold: "1/10",
      updateProposalTimeToLive: 10_000,
      unlockStakeEpoch: 18_446_744_073_709_551_615n,
      softForkInitThreshold: "9/10",
      softForkMinThreshold: "3/5",
      softForkDecrementThreshold: "1/20",
      minFeeConstant: ada(155_381),
      minFeeCoefficient: 44
    }
  }
}

/** A cost model: `n` coefficients of the magnitudes real ones have (seed-derived, not real costs). */
const costModel = (rng: Rng, n: number) =>
  Array.from({ length: n }, () => {
    const r = rng.next()
    return r < 0.2 ? rng.int(5) : r < 0.5 ? rng.range(32, 1000) : r < 0.9 ? rng.range(10_000, 300_000) : rng.range(1_000_000, 40_000_000)
  })

/** Alonzo genesis: Plutus V1 cost model, execution prices and limits, collateral rules. */
export const alonzoGenesis = (seed: string) => {
  const rng = Rng.fromString(`${seed}/genesis/alonzo`)
  return {
    era: "alonzo",
    updatableParameters: {
      minUtxoDepositCoefficient: 4310,
      collateralPercentage: 150,
      // Plutus V1 has 166 cost-model parameters
      plutusCostModels: { "plutus:v1": costModel(rng, 166) },
      maxCollateralInputs: 3,
      maxExecutionUnitsPerBlock: { memory: 50_000_000, cpu: 40_000_000_000 },
      maxExecutionUnitsPerTransaction: { memory: 10_000_000, cpu: 10_000_000_000 },
      maxValueSize: { bytes: 5000 },
      scriptExecutionPrices: { memory: "577/10000", cpu: "721/10000000" }
    }
  }
}

/**
 * Conway genesis: constitution, initial committee, voting thresholds, deposits, lifetimes. Ogmios
 * v7 also reports the Plutus V3 cost model and the fee per byte of scripts held in reference inputs; v6.14 does not (its
 * schema forbids them), so they are added only for a server speaking v7.
 */
export const conwayGenesis = (seed: string, v7: boolean) => {
  const rng = Rng.fromString(`${seed}/genesis/conway`)
  const hex = hexOf(rng)
  const updatableParameters = {
    stakePoolVotingThresholds: {
      noConfidence: "51/100",
      constitutionalCommittee: { default: "51/100", stateOfNoConfidence: "51/100" },
      hardForkInitiation: "51/100",
      protocolParametersUpdate: { security: "51/100" }
    },
    constitutionalCommitteeMinSize: 7,
    constitutionalCommitteeMaxTermLength: 146,
    governanceActionLifetime: 6,
    governanceActionDeposit: ada(100_000_000_000),
    delegateRepresentativeVotingThresholds: {
      noConfidence: "67/100",
      constitutionalCommittee: { default: "67/100", stateOfNoConfidence: "3/5" },
      constitution: "3/4",
      hardForkInitiation: "3/5",
      protocolParametersUpdate: { network: "67/100", economic: "67/100", technical: "67/100", governance: "3/4" },
      treasuryWithdrawals: "67/100"
    },
    delegateRepresentativeDeposit: ada(500_000_000),
    delegateRepresentativeMaxIdleTime: 20
  }
  const constitution = {
    metadata: { url: "ipfs://bafkreiconstitution", hash: hex(32) },
    guardrails: { hash: hex(28) }
  }
  const constitutionalCommittee = {
    members: Array.from({ length: 7 }, () => ({ from: "script", id: hex(28), mandate: { epoch: 580 } })),
    quorum: "2/3"
  }
  const v7Parameters = v7
    ? {
        // Plutus V3 has 297 cost-model parameters
        plutusCostModels: { "plutus:v3": costModel(rng, 297) },
        minFeeReferenceScripts: { range: 25_600, base: 15, multiplier: 1.2 }
      }
    : {}
  return { era: "conway", constitution, constitutionalCommittee, updatableParameters: { ...updatableParameters, ...v7Parameters } }
}
