/**
 * The simulated network's parameters and time: slot <-> epoch <-> wall clock, the era and
 * protocol version in force at each epoch, era summaries and the Shelley genesis, for either a
 * `custom` devnet (all hard forks at epoch 0) or the `mainnet-shaped` schedule.
 */
import {
  ERA_PROTOCOL,
  MAINNET,
  type Era,
  mainnetEpochOfSlot,
  mainnetEpochStartSlot,
  mainnetRelativeSeconds,
  mainnetScheduleAt,
  MAINNET_SCHEDULE,
  PRAOS_ERAS,
  type ProtocolVersion
} from "./mainnet.js"
import { Rng } from "./rng.js"

export interface EraBound {
  readonly time: { readonly seconds: number }
  readonly slot: number
  readonly epoch: number
}

export interface EraSummary {
  readonly start: EraBound
  readonly end: EraBound
  readonly parameters: {
    readonly epochLength: number
    readonly slotLength: { readonly milliseconds: number }
    readonly safeZone: number | null
  }
}

export interface Network {
  readonly kind: "custom" | "mainnet-shaped"
  /** `network` in /health and the Shelley genesis */
  readonly name: "mainnet" | "testnet"
  readonly networkMagic: number
  readonly systemStart: Date
  readonly securityParameter: number
  readonly activeSlotsCoefficient: number
  /** Shelley-era epoch length in slots */
  readonly epochLength: number
  readonly slotLengthMs: number
  readonly slotsPerKesPeriod: number
  epochOf(slot: number): number
  epochStartSlot(epoch: number): number
  /** Unix milliseconds at the start of `slot`. */
  slotToUnixMs(slot: number): number
  eraOf(epoch: number): Era
  protocolVersionOf(epoch: number): ProtocolVersion
  /** Era summaries as a node at `tipSlot` reports them (current era ends at its forecast horizon). */
  eraSummaries(tipSlot: number): ReadonlyArray<EraSummary>
}

/** The Byron protocol version a custom byron chain runs (mainnet Byron reached 1.0 with OBFT). */
export const BYRON_PROTOCOL: ProtocolVersion = { major: 1, minor: 0 }

/** 3k/f: slots in which no hard fork can happen in Shelley-based eras (2k in Byron). */
const safeZone = (k: number, f: number) => Math.round((3 * k) / f)

export interface CustomNetworkParams {
  readonly era: Era
  readonly epochLength: number
  readonly slotLengthMs: number
  readonly activeSlotsCoefficient: number
  readonly securityParameter: number
  readonly systemStart: Date
  readonly networkMagic: number
  /** 1: a devnet that calls itself mainnet (mainnet address network ids); default 0, a testnet */
  readonly networkId?: 0 | 1 | undefined
}

export const customNetwork = (p: CustomNetworkParams): Network => {
  // Byron's safe zone is 2k slots; Shelley-based eras 3k/f
  const zone = p.era === "byron" ? 2 * p.securityParameter : safeZone(p.securityParameter, p.activeSlotsCoefficient)
  const epochOf = (slot: number) => Math.floor(slot / p.epochLength)
  const epochStartSlot = (epoch: number) => epoch * p.epochLength
  const bound = (epoch: number): EraBound => {
    const slot = epochStartSlot(epoch)
    return { time: { seconds: Math.floor((slot * p.slotLengthMs) / 1000) }, slot, epoch }
  }
  const params = (era: Era) => ({
    epochLength: p.epochLength,
    slotLength: { milliseconds: p.slotLengthMs },
    safeZone: era === "byron" ? 2 * p.securityParameter : zone
  })
  const eras: ReadonlyArray<Era> = p.era === "byron" ? ["byron"] : ["byron", ...PRAOS_ERAS.slice(0, PRAOS_ERAS.indexOf(p.era) + 1)]
  const version = p.era === "byron" ? BYRON_PROTOCOL : ERA_PROTOCOL[p.era]
  return {
    kind: "custom",
    name: p.networkId === 1 ? "mainnet" : "testnet",
    networkMagic: p.networkMagic,
    systemStart: p.systemStart,
    securityParameter: p.securityParameter,
    activeSlotsCoefficient: p.activeSlotsCoefficient,
    epochLength: p.epochLength,
    slotLengthMs: p.slotLengthMs,
    slotsPerKesPeriod: 129_600,
    epochOf,
    epochStartSlot,
    slotToUnixMs: (slot) => p.systemStart.getTime() + slot * p.slotLengthMs,
    eraOf: () => p.era,
    protocolVersionOf: () => version,
    // A devnet that hard-forks through every era at epoch 0: earlier eras are empty.
    eraSummaries: (tipSlot) =>
      eras.map((era, i) =>
        i < eras.length - 1
          ? { start: bound(0), end: bound(0), parameters: params(era) }
          : { start: bound(0), end: bound(epochOf(tipSlot + zone) + 1), parameters: params(era) }
      )
  }
}

export const mainnetShapedNetwork = (): Network => {
  const zone = safeZone(MAINNET.securityParameter, MAINNET.activeSlotsCoefficient)
  const bound = (epoch: number): EraBound => {
    const slot = mainnetEpochStartSlot(epoch)
    return { time: { seconds: mainnetRelativeSeconds(slot) }, slot, epoch }
  }
  const shelleyParams = {
    epochLength: MAINNET.epochLength,
    slotLength: { milliseconds: MAINNET.slotLengthMs },
    safeZone: zone
  }
  const eraStarts = PRAOS_ERAS.map((era) => ({ era, epoch: MAINNET_SCHEDULE.find((row) => row.era === era)!.epoch }))
  return {
    kind: "mainnet-shaped",
    name: "mainnet",
    networkMagic: MAINNET.networkMagic,
    systemStart: MAINNET.systemStart,
    securityParameter: MAINNET.securityParameter,
    activeSlotsCoefficient: MAINNET.activeSlotsCoefficient,
    epochLength: MAINNET.epochLength,
    slotLengthMs: MAINNET.slotLengthMs,
    slotsPerKesPeriod: MAINNET.slotsPerKesPeriod,
    epochOf: mainnetEpochOfSlot,
    epochStartSlot: mainnetEpochStartSlot,
    slotToUnixMs: (slot) => MAINNET.systemStart.getTime() + mainnetRelativeSeconds(slot) * 1000,
    // epochs before 208 are Byron (only the anchor block of a range starting at 208 is served from them)
    eraOf: (epoch) => (epoch < MAINNET.firstShelleyEpoch ? "byron" : mainnetScheduleAt(epoch).era),
    protocolVersionOf: (epoch) => (epoch < MAINNET.firstShelleyEpoch ? BYRON_PROTOCOL : mainnetScheduleAt(epoch).version),
    eraSummaries: (tipSlot) => {
      const tipEpoch = mainnetEpochOfSlot(tipSlot)
      const summaries: Array<EraSummary> = [
        {
          start: bound(0),
          end: bound(MAINNET.firstShelleyEpoch),
          parameters: {
            epochLength: MAINNET.byronEpochLength,
            slotLength: { milliseconds: MAINNET.byronSlotLengthMs },
            safeZone: 2 * MAINNET.securityParameter
          }
        }
      ]
      const known = eraStarts.filter((row) => row.epoch <= tipEpoch)
      known.forEach((row, i) => {
        const next = known[i + 1]
        const endEpoch = next ? next.epoch : mainnetEpochOfSlot(tipSlot + zone) + 1
        summaries.push({ start: bound(row.epoch), end: bound(endEpoch), parameters: shelleyParams })
      })
      return summaries
    }
  }
}

/** Ogmios writes rationals as "n/d" strings. */
const ratio = (x: number): string => {
  for (let d = 1; d <= 1_000_000; d *= 10) {
    const n = Math.round(x * d)
    if (Math.abs(n / d - x) < 1e-12) {
      const g = gcd(n, d)
      return `${n / g}/${d / g}`
    }
  }
  return `${Math.round(x * 1e9)}/1000000000`
}
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

const ada = (lovelace: number | bigint) => ({ ada: { lovelace } })

/**
 * `queryNetwork/genesisConfiguration` for `era: "shelley"`: mainnet's genesis parameters for a
 * mainnet-shaped network, the configured ones for a custom network. Delegate keys are derived
 * from the seed (the real mainnet ones are not part of our sources).
 */
export const shelleyGenesis = (network: Network, seed: string) => {
  const rng = Rng.fromString(`${seed}/genesis`)
  const hex = (bytes: number) => {
    let s = ""
    for (let i = 0; i < bytes; i++) s += (rng.nextU32() & 0xff).toString(16).padStart(2, "0")
    return s
  }
  const mainnet = network.kind === "mainnet-shaped"
  return {
    era: "shelley",
    startTime: network.systemStart.toISOString().replace(/\.000Z$/, "Z"),
    networkMagic: network.networkMagic,
    network: network.name,
    activeSlotsCoefficient: ratio(network.activeSlotsCoefficient),
    securityParameter: network.securityParameter,
    epochLength: network.epochLength,
    slotsPerKesPeriod: network.slotsPerKesPeriod,
    maxKesEvolutions: MAINNET.maxKesEvolutions,
    slotLength: { milliseconds: network.slotLengthMs },
    updateQuorum: 5,
    maxLovelaceSupply: 45_000_000_000_000_000n,
    initialParameters: {
      minFeeCoefficient: 44,
      minFeeConstant: ada(155_381),
      minUtxoDepositCoefficient: 0,
      minUtxoDepositConstant: ada(1_000_000),
      maxBlockBodySize: { bytes: 65_536 },
      maxBlockHeaderSize: { bytes: 1_100 },
      maxTransactionSize: { bytes: 16_384 },
      stakeCredentialDeposit: ada(2_000_000),
      stakePoolDeposit: ada(500_000_000),
      stakePoolRetirementEpochBound: 18,
      desiredNumberOfStakePools: 150,
      stakePoolPledgeInfluence: "3/10",
      minStakePoolCost: ada(340_000_000),
      monetaryExpansion: "3/1000",
      treasuryExpansion: "1/5",
      federatedBlockProductionRatio: mainnet ? "1/1" : "0/1",
      extraEntropy: "neutral",
      version: { major: 2, minor: 0 }
    },
    initialDelegates: Array.from({ length: 7 }, () => ({
      issuer: { id: hex(28) },
      delegate: { id: hex(28), vrfVerificationKeyHash: hex(32) }
    })),
    initialFunds: {},
    initialStakePools: { stakePools: {}, delegators: {} }
  }
}
