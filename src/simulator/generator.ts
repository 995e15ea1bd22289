/**
 * Block content: writes the JSON of a Praos block (header + transactions) straight into a byte
 * buffer, from an Rng seeded by the block id, so the same (seed, branch, height) always yields the
 * same bytes. No object graph, no JSON.stringify, no string concatenation: hex fields are copied
 * from a seeded pool of hex bytes (about 10x faster than building strings); addresses, reward
 * accounts, pool ids and CBOR datums/redeemers are real encodings built up front (identifiers.ts)
 * and copied from pools. Shapes follow the Ogmios v6.14/v7.0 schemas (the common subset:
 * `outputs` always present, no dijkstra).
 */
import { blake2bHex, byronAddress, encodeCbor, type NetworkId, plutusData, poolId, randomBytes, rewardAccount, type ShelleyAddressType, shelleyAddress } from "./identifiers.js"
import { hasNonce, type PraosEra, type ProtocolVersion } from "./mainnet.js"
import { Rng } from "./rng.js"
import { Writer } from "./writer.js"

export interface BlockHeaderSpec {
  readonly era: PraosEra
  readonly id: string
  /** a block id, or "genesis" for the first block of a custom chain */
  readonly ancestor: string
  readonly height: number
  readonly slot: number
  readonly protocol: ProtocolVersion
}

export interface ByronHeaderSpec {
  /** an epoch boundary block: no slot, size, transactions or issuer */
  readonly ebb: boolean
  readonly id: string
  /** a block id (the Byron genesis hash for the first block) */
  readonly ancestor: string
  readonly height: number
  readonly slot: number
  /** protocol.id of bft blocks */
  readonly networkMagic: number
}

export interface GeneratorOptions {
  readonly seed: string
  /** mean of `size.bytes` (and of the block's JSON length), capped per block at MAX_BLOCK_BYTES */
  readonly meanBlockBytes: number
  /** share of blocks without transactions */
  readonly emptyBlockRate: number
  readonly slotsPerKesPeriod: number
  /** network id of Shelley addresses and reward accounts: 1 mainnet, 0 testnets */
  readonly networkId: NetworkId
  /** protocol magic carried by Byron addresses on testnets (mainnet Byron addresses carry none) */
  readonly byronProtocolMagic?: number | undefined
}

export const MAX_BLOCK_BYTES = 90_000
/** JSON length of a block without transactions (header fields, issuer, VRF values). */
const HEADER_BYTES = 1_000

/**
 * CIP-19 header types of generated payment addresses, weighted roughly as on mainnet: mostly base
 * addresses with key credentials, some script (DEX, multisig) and enterprise ones, few pointers.
 */
const ADDRESS_TYPES: ReadonlyArray<ShelleyAddressType> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3, 2, 6, 6, 7, 4]
const WORDS = ["cardano", "hydra", "mithril", "ouroboros", "plutus", "marlowe", "aiken", "midnight", "catalyst", "stake", "pool", "relay", "epoch", "slot", "nft", "swap", "order", "batch", "oracle", "price"]
const ERA_RANK: Record<PraosEra, number> = { shelley: 0, allegra: 1, mary: 2, alonzo: 3, babbage: 4, conway: 5 }

/** pre-encoded ASCII */
const A = (text: string): Buffer => Buffer.from(text, "latin1")
const K = {
  txId: A(`{"id":"`),
  txInputs: A(`","spends":"inputs","inputs":[`),
  refOpen: A(`{"transaction":{"id":"`),
  refIndex: A(`"},"index":`),
  references: A(`,"references":[`),
  outputs: A(`,"outputs":[`),
  address: A(`{"address":"`),
  valueOpen: A(`","value":{"ada":{"lovelace":`),
  datumHash: A(`,"datumHash":"`),
  datum: A(`,"datum":"`),
  collaterals: A(`,"collaterals":[`),
  collateralReturn: A(`,"collateralReturn":{"address":"`),
  totalCollateral: A(`,"totalCollateral":{"ada":{"lovelace":`),
  scriptIntegrityHash: A(`,"scriptIntegrityHash":"`),
  requiredSigners: A(`","requiredExtraSignatories":["`),
  certificates: A(`,"certificates":[`),
  withdrawals: A(`,"withdrawals":{"`),
  adaLovelace: A(`":{"ada":{"lovelace":`),
  mint: A(`,"mint":{`),
  fee: A(`,"fee":{"ada":{"lovelace":`),
  invalidBefore: A(`,"validityInterval":{"invalidBefore":`),
  invalidAfterComma: A(`,"invalidAfter":`),
  invalidAfter: A(`,"validityInterval":{"invalidAfter":`),
  metadata: A(`,"metadata":{"hash":"`),
  labels: A(`","labels":{"674":{"json":{"msg":[`),
  signatories: A(`,"signatories":[`),
  key: A(`{"key":"`),
  signature: A(`","signature":"`),
  redeemers: A(`,"redeemers":[`),
  close3: A("}}}"),
  close4: A("}}}}")
}

/** A stake pool as the ledger knows it: the block issuer's keys and what they hash to. */
export interface StakePoolKeys {
  /** bech32 `pool1…` of BLAKE2b-224 of the cold verification key, as a ledger derives it */
  readonly id: string
  /** the pool's 28-byte key hash (hex) */
  readonly keyHash: string
  /** cold verification key (hex), the block header's issuer.verificationKey */
  readonly verificationKey: string
  /** BLAKE2b-256 of the VRF verification key (hex), as registered with the pool */
  readonly vrfVerificationKeyHash: string
  /** operational certificate counter at KES period 0 (one more every 62 periods) */
  readonly count: number
}

interface Pool extends StakePoolKeys {
  /** pre-encoded issuer JSON around the two numbers (opcert count, KES period) */
  readonly issuerHead: Buffer
  readonly issuerSigma: Buffer
  readonly issuerKes: Buffer
}

export class BlockGenerator {
  private readonly hexPool: Buffer
  private readonly pools: ReadonlyArray<Pool>
  /** reward accounts (bech32) that receive withdrawals and proposal refunds */
  readonly rewardAccounts: ReadonlyArray<string>
  private readonly addresses: ReadonlyArray<Buffer>
  private readonly stakeAddresses: ReadonlyArray<Buffer>
  private readonly policies: ReadonlyArray<string>
  /** CBOR hex of Plutus data, for inline datums and redeemers */
  private readonly datums: ReadonlyArray<Buffer>
  /** 28-byte credentials (hex) of DReps and constitutional committee members */
  readonly dreps: ReadonlyArray<string>
  readonly committee: ReadonlyArray<string>
  /**
   * Rare, string-heavy content (certificates, votes, proposals, redeemers, reference scripts, NFT
   * metadata), encoded once per chain: a transaction copies a pooled entry, so the hot path stays
   * a sequence of buffer copies. Pools are kept small: the bytes copied from must stay in the CPU
   * cache (256-entry pools made generation ~10 % slower than 64-entry ones).
   */
  private readonly encoded: {
    readonly certificates: ReadonlyArray<Buffer>
    readonly conwayCertificates: ReadonlyArray<Buffer>
    readonly votes: ReadonlyArray<Buffer>
    readonly proposals: ReadonlyArray<Buffer>
    /** by redeemer index (0..3: a transaction has at most 4 inputs) */
    readonly redeemers: ReadonlyArray<ReadonlyArray<Buffer>>
    readonly scripts: ReadonlyArray<Buffer>
    readonly nftMetadata: ReadonlyArray<Buffer>
  }
  private readonly txs = new Writer(1 << 17)
  private readonly head = new Writer(4096)

  constructor(readonly options: GeneratorOptions) {
    const rng = Rng.fromString(`${options.seed}/generator`)
    const bytes = new Uint8Array(1 << 16)
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff
    this.hexPool = Buffer.from(Buffer.from(bytes).toString("hex"), "latin1")
    const hex = (n: number) => this.hexString(rng, n)
    const network = options.networkId
    // a pool id is the hash of the cold key that signs the pool's blocks: a client attributing
    // blocks to pools (blake2b-224 of issuer.verificationKey) finds the pools the ledger reports
    this.pools = Array.from({ length: 64 }, () => {
      const count = rng.int(20)
      const verificationKey = hex(64)
      const vrfVerificationKey = hex(64)
      const keyHash = blake2bHex(Buffer.from(verificationKey, "hex"), 28)
      return {
        count,
        id: poolId(Buffer.from(keyHash, "hex")),
        keyHash,
        verificationKey,
        vrfVerificationKeyHash: blake2bHex(Buffer.from(vrfVerificationKey, "hex"), 32),
        issuerHead: A(`"issuer":{"verificationKey":"${verificationKey}","vrfVerificationKey":"${vrfVerificationKey}","operationalCertificate":{"count":`),
        issuerSigma: A(`,"sigma":"${hex(128)}","kes":{"period":`),
        issuerKes: A(`,"verificationKey":"${hex(64)}"}},"leaderValue":{"output":"`)
      }
    })
    // one address in 16 is a Byron (bootstrap) one: they still receive outputs in every era
    this.addresses = Array.from({ length: 512 }, (_, i) =>
      A(
        i % 16 === 15
          ? byronAddress(rng, { derivationPath: i % 32 === 15, protocolMagic: options.byronProtocolMagic })
          : shelleyAddress(rng, network, rng.pick(ADDRESS_TYPES))
      )
    )
    this.rewardAccounts = Array.from({ length: 128 }, () => rewardAccount(randomBytes(rng, 28), network, rng.chance(0.05)))
    this.stakeAddresses = this.rewardAccounts.map(A)
    this.policies = Array.from({ length: 64 }, () => hex(56))
    this.datums = Array.from({ length: 64 }, () => A(plutusData(rng)))
    this.dreps = Array.from({ length: 32 }, () => hex(56))
    this.committee = Array.from({ length: 7 }, () => hex(56))
    const encode = (n: number, write: (w: Writer) => void): Array<Buffer> =>
      Array.from({ length: n }, () => {
        const w = new Writer(1024)
        write(w)
        return Buffer.from(w.buf.subarray(0, w.pos))
      })
    this.encoded = {
      certificates: encode(64, (w) => this.certificate(w, rng, ERA_RANK.babbage)),
      conwayCertificates: encode(64, (w) => this.certificate(w, rng, ERA_RANK.conway)),
      votes: encode(32, (w) => this.votes(w, rng)),
      proposals: encode(32, (w) => this.proposals(w, rng)),
      redeemers: [0, 1, 2, 3].map((index) => encode(16, (w) => this.redeemer(w, rng, index))),
      scripts: encode(16, (w) => this.referenceScript(w, rng)),
      nftMetadata: encode(32, (w) => this.nftMetadata(w, rng))
    }
  }

  /** The pools that issue this chain's blocks and appear in its delegation certificates and votes. */
  get stakePools(): ReadonlyArray<StakePoolKeys> {
    return this.pools
  }

  private hexString(rng: Rng, n: number): string {
    const offset = rng.int(this.hexPool.length - n)
    return this.hexPool.toString("latin1", offset, offset + n)
  }

  /** Writes `n` random-looking hex chars: a slice of the seeded pool (cheap, deterministic). */
  private hex(w: Writer, rng: Rng, n: number): void {
    w.copy(this.hexPool, rng.int(this.hexPool.length - n), n)
  }

  /** Target JSON size of a block: empty with probability emptyBlockRate, else gamma(2)-distributed. */
  private targetBytes(rng: Rng): number {
    if (rng.chance(this.options.emptyBlockRate)) return 0
    const mean = this.options.meanBlockBytes / (1 - this.options.emptyBlockRate)
    const g = (-Math.log(1 - rng.next()) - Math.log(1 - rng.next())) / 2
    return Math.min(MAX_BLOCK_BYTES, Math.round(g * mean))
  }

  /** The block's JSON as UTF-8 (ASCII) bytes. */
  generate(header: BlockHeaderSpec): Buffer {
    const rng = Rng.fromHex(header.id)
    const target = this.targetBytes(rng)
    const t = this.txs
    t.reset()
    let count = 0
    while (HEADER_BYTES + t.pos < target) {
      if (count++ > 0) t.byte(44) // ,
      this.transaction(t, rng, header)
    }
    const bytes = HEADER_BYTES + t.pos
    const pool = this.pools[rng.int(this.pools.length)]!
    const kesPeriod = Math.floor(header.slot / this.options.slotsPerKesPeriod)
    const w = this.head
    w.reset()
    w.str(`{"type":"praos","era":"${header.era}","id":"${header.id}","ancestor":"${header.ancestor}",`)
    if (hasNonce(header.era)) {
      w.str(`"nonce":{"output":"`)
      this.hex(w, rng, 128)
      w.str(`","proof":"`)
      this.hex(w, rng, 160)
      w.str(`"},`)
    }
    w.str(`"height":`)
    w.num(header.height)
    w.str(`,"slot":`)
    w.num(header.slot)
    w.str(`,"size":{"bytes":`)
    w.num(bytes)
    w.str(`},"protocol":{"version":{"major":${header.protocol.major},"minor":${header.protocol.minor}}},`)
    w.raw(pool.issuerHead)
    w.num(pool.count + Math.floor(kesPeriod / 62))
    w.raw(pool.issuerSigma)
    w.num(kesPeriod)
    w.raw(pool.issuerKes)
    this.hex(w, rng, 128)
    w.str(`","proof":"`)
    this.hex(w, rng, 160)
    w.str(`"}},"transactions":[`)
    const out = Buffer.allocUnsafe(w.pos + t.pos + 2)
    w.buf.copy(out, 0, 0, w.pos)
    t.buf.copy(out, w.pos, 0, t.pos)
    out[w.pos + t.pos] = 93 // ]
    out[w.pos + t.pos + 1] = 125 // }
    return out
  }

  private byronPools:
    | { readonly delegates: ReadonlyArray<string>; readonly addresses: ReadonlyArray<Buffer>; readonly attributes: Buffer }
    | undefined

  /** Byron delegates and base58 addresses, from an Rng of their own (Praos output stays as it was). */
  private byron() {
    if (this.byronPools) return this.byronPools
    const rng = Rng.fromString(`${this.options.seed}/byron`)
    const magic = this.options.byronProtocolMagic
    // Icarus (Ae2tdPwUPEZ… on mainnet: no attributes) and Daedalus (DdzFF…: a derivation path) wallets
    this.byronPools = {
      delegates: Array.from({ length: 7 }, () => this.hexString(rng, 128)),
      addresses: Array.from({ length: 128 }, (_, i) => A(byronAddress(rng, { derivationPath: i % 3 !== 0, protocolMagic: magic }))),
      // what a bootstrap witness carries: the CBOR attributes map of the spent address (hex)
      attributes: A(encodeCbor(magic === undefined ? new Map() : new Map([[2, encodeCbor(magic)]])).toString("hex"))
    }
    return this.byronPools
  }

  /**
   * A Byron block's JSON: an `ebb` (type, era, id, ancestor, height) or a `bft` block with small
   * Byron-shaped transactions (inputs, outputs to base58 addresses, bootstrap signatories).
   */
  generateByron(header: ByronHeaderSpec): Buffer {
    const w = this.head
    w.reset()
    w.str(`{"type":"${header.ebb ? "ebb" : "bft"}","era":"byron","id":"${header.id}","ancestor":"${header.ancestor}","height":`)
    w.num(header.height)
    if (header.ebb) {
      w.byte(125)
      return Buffer.from(w.buf.subarray(0, w.pos))
    }
    const rng = Rng.fromHex(header.id)
    const pools = this.byron()
    const target = Math.min(this.targetBytes(rng), 16_000) // Byron blocks were small
    const t = this.txs
    t.reset()
    let count = 0
    while (HEADER_BYTES + t.pos < target) {
      if (count++ > 0) t.byte(44)
      this.byronTransaction(t, rng, pools)
    }
    const delegate = pools.delegates[header.slot % pools.delegates.length]!
    w.str(`,"slot":`)
    w.num(header.slot)
    w.str(`,"size":{"bytes":`)
    w.num(Math.round((HEADER_BYTES + t.pos) * 0.6))
    w.str(`},"operationalCertificates":[],"protocol":{"id":`)
    w.num(header.networkMagic)
    w.str(`,"version":{"major":1,"minor":0,"patch":0},"software":{"appName":"cardano-sl","number":1}},`)
    w.str(`"issuer":{"verificationKey":"${delegate}"},"delegate":{"verificationKey":"${delegate}"},"transactions":[`)
    const out = Buffer.allocUnsafe(w.pos + t.pos + 2)
    w.buf.copy(out, 0, 0, w.pos)
    t.buf.copy(out, w.pos, 0, t.pos)
    out[w.pos + t.pos] = 93 // ]
    out[w.pos + t.pos + 1] = 125 // }
    return out
  }

  /** A transaction's id (unique per block and position, unlike pool slices) and its 1 to `maxInputs` inputs; returns how many. */
  private idAndInputs(w: Writer, rng: Rng, maxInputs: number): number {
    w.raw(K.txId)
    for (let i = 0; i < 8; i++) w.hex32(rng.nextU32())
    w.raw(K.txInputs)
    const nIn = rng.range(1, maxInputs)
    for (let i = 0; i < nIn; i++) {
      if (i > 0) w.byte(44)
      this.outRef(w, rng)
    }
    w.byte(93)
    return nIn
  }

  private byronTransaction(w: Writer, rng: Rng, pools: { readonly addresses: ReadonlyArray<Buffer>; readonly attributes: Buffer }): void {
    const addresses = pools.addresses
    const nIn = this.idAndInputs(w, rng, 3)
    w.raw(K.outputs)
    const nOut = rng.range(1, 3)
    for (let i = 0; i < nOut; i++) {
      if (i > 0) w.byte(44)
      w.raw(K.address)
      w.raw(rng.pick(addresses))
      w.raw(K.valueOpen)
      w.num(rng.range(1_000_000, 2_000_000) + rng.int(5) * rng.int(1e9))
      w.raw(K.close3)
    }
    w.byte(93)
    w.raw(K.signatories)
    for (let i = 0; i < nIn; i++) {
      if (i > 0) w.byte(44)
      w.raw(K.key)
      this.hex(w, rng, 64)
      w.raw(K.signature)
      this.hex(w, rng, 128)
      w.str(`","chainCode":"`)
      this.hex(w, rng, 64)
      w.str(`","addressAttributes":"`)
      w.raw(pools.attributes)
      w.str(`"}`)
    }
    w.byte(93)
    w.byte(125)
  }

  private outRef(w: Writer, rng: Rng): void {
    w.raw(K.refOpen)
    this.hex(w, rng, 64)
    w.raw(K.refIndex)
    w.num(rng.chance(0.8) ? rng.int(4) : rng.int(300))
    w.byte(125) // }
  }

  private lovelace(w: Writer, rng: Rng): void {
    // ~1% of outputs move more than 2^53 lovelace (exchanges, treasury-scale transfers)
    if (rng.chance(0.01)) w.str(`1${String(rng.nextU32()).padStart(10, "0")}${String(rng.int(1e6)).padStart(6, "0")}`)
    else w.num(rng.range(1_000_000, 2_000_000) + rng.int(5) * rng.int(1e9))
  }

  private assetQuantity(w: Writer, rng: Rng, signed: boolean): void {
    if (signed && rng.chance(0.3)) w.byte(45) // -
    // a few tokens are minted with supplies beyond 2^53 (19 digits)
    if (rng.chance(0.1)) w.str(`${rng.range(1, 9)}${String(rng.nextU32()).padStart(10, "0")}${String(rng.int(1e8)).padStart(8, "0")}`)
    else w.num(rng.range(1, 1_000_000))
  }

  private assets(w: Writer, rng: Rng, signed: boolean): void {
    const policies = rng.range(1, 3)
    let written = 0
    let previous = -1
    for (let p = 0; p < policies; p++) {
      const policy = rng.int(this.policies.length)
      if (policy <= previous) continue // distinct keys: only ascending picks
      previous = policy
      if (written++ > 0) w.byte(44)
      w.str(`"${this.policies[policy]!}":{`)
      const count = rng.range(1, 3)
      for (let a = 0; a < count; a++) {
        if (a > 0) w.byte(44)
        w.byte(34)
        // asset names: an empty name (first only), else 2..16 bytes; names differ by length
        if (a > 0 || !rng.chance(0.2)) this.hex(w, rng, 2 * (2 + a * 6 + rng.int(6)))
        w.byte(34)
        w.byte(58)
        this.assetQuantity(w, rng, signed)
      }
      w.byte(125)
    }
  }

  private output(w: Writer, rng: Rng, rank: number): void {
    w.raw(K.address)
    w.raw(rng.pick(this.addresses))
    w.raw(K.valueOpen)
    this.lovelace(w, rng)
    w.byte(125)
    if (rank >= ERA_RANK.mary && rng.chance(0.25)) {
      w.byte(44)
      this.assets(w, rng, false)
    }
    w.byte(125)
    if (rank >= ERA_RANK.alonzo && rng.chance(0.1)) {
      w.raw(K.datumHash)
      this.hex(w, rng, 64)
      w.byte(34)
    } else if (rank >= ERA_RANK.babbage && rng.chance(0.1)) {
      w.raw(K.datum)
      w.raw(rng.pick(this.datums))
      w.byte(34)
      // a script deployed for reference sits next to its datum (decided here: no draw on most outputs)
      if (rng.chance(0.2)) w.raw(rng.pick(this.encoded.scripts))
    }
    w.byte(125)
  }

  /** A reference script: a multisig-with-deadline native script. */
  private referenceScript(w: Writer, rng: Rng): void {
    w.str(`,"script":{"language":"native","json":{"clause":"all","from":[{"clause":"signature","from":"`)
    this.hex(w, rng, 56)
    w.str(`"},{"clause":"before","slot":`)
    w.num(rng.range(1, 200_000_000))
    w.str(`}]}}`)
  }

  /** CIP-25 NFT metadata: label 721 -> policy id -> asset name -> properties (from `","labels"` on). */
  private nftMetadata(w: Writer, rng: Rng): void {
    const name = `${rng.pick(WORDS)}${rng.int(10_000)}`
    w.str(`","labels":{"721":{"json":{"${rng.pick(this.policies)}":{"${name}":{"name":"${name}","image":"ipfs://Qm`)
    this.hex(w, rng, 44)
    w.str(`","mediaType":"image/png","edition":${rng.range(1, 500)}}},"version":"1.0"}}}}`)
  }

  /** An anchor (off-chain metadata: URL + 32-byte hash), as governance certificates, votes and proposals carry. */
  private anchor(rng: Rng): string {
    return `{"url":"https://${rng.pick(WORDS)}.example/${rng.pick(WORDS)}-${rng.int(10_000)}.jsonld","hash":"${this.hexString(rng, 64)}"}`
  }

  private drep(rng: Rng): string {
    const r = rng.next()
    if (r < 0.08) return `{"type":"abstain"}`
    if (r < 0.1) return `{"type":"noConfidence"}`
    return `{"type":"registered","from":"${r < 0.97 ? "verificationKey" : "script"}","id":"${rng.pick(this.dreps)}"}`
  }

  private certificate(w: Writer, rng: Rng, rank: number): void {
    const credential = this.hexString(rng, 56)
    const from = rng.chance(0.9) ? "verificationKey" : "script"
    const conway = rank >= ERA_RANK.conway
    const r = rng.next()
    if (r < 0.35) {
      // stake key registration: the deposit field only exists from conway on
      const deposit = conway && rng.chance(0.5) ? `,"deposit":{"ada":{"lovelace":2000000}}` : ""
      w.str(`{"type":"stakeCredentialRegistration","credential":"${credential}","from":"${from}"${deposit}}`)
    } else if (r < 0.4) {
      const deposit = conway && rng.chance(0.5) ? `,"deposit":{"ada":{"lovelace":2000000}}` : ""
      w.str(`{"type":"stakeCredentialDeregistration","credential":"${credential}","from":"${from}"${deposit}}`)
    } else if (!conway || r < 0.7) {
      // conway delegations may name a DRep as well as (or instead of) a pool
      const drep = conway && rng.chance(0.5) ? `,"delegateRepresentative":${this.drep(rng)}` : ""
      const pool = drep === "" || rng.chance(0.5) ? `,"stakePool":{"id":"${rng.pick(this.pools).id}"}` : ""
      w.str(`{"type":"stakeDelegation","credential":"${credential}","from":"${from}"${pool}${drep}}`)
    } else if (r < 0.8) {
      const metadata = rng.chance(0.8) ? `,"metadata":${this.anchor(rng)}` : ""
      w.str(`{"type":"delegateRepresentativeRegistration","delegateRepresentative":{"type":"registered","from":"${from}","id":"${rng.pick(this.dreps)}"},"deposit":{"ada":{"lovelace":500000000}}${metadata}}`)
    } else if (r < 0.86) {
      const metadata = rng.chance(0.8) ? this.anchor(rng) : "null"
      w.str(`{"type":"delegateRepresentativeUpdate","delegateRepresentative":{"type":"registered","from":"${from}","id":"${rng.pick(this.dreps)}"},"metadata":${metadata}}`)
    } else if (r < 0.9) {
      w.str(`{"type":"delegateRepresentativeRetirement","delegateRepresentative":{"type":"registered","from":"${from}","id":"${rng.pick(this.dreps)}"},"deposit":{"ada":{"lovelace":500000000}}}`)
    } else if (r < 0.97) {
      w.str(`{"type":"constitutionalCommitteeDelegation","member":{"from":"verificationKey","id":"${rng.pick(this.committee)}"},"delegate":{"status":"authorized","from":"verificationKey","id":"${this.hexString(rng, 56)}"}}`)
    } else {
      w.str(`{"type":"constitutionalCommitteeRetirement","member":{"from":"verificationKey","id":"${rng.pick(this.committee)}"},"metadata":${this.anchor(rng)}}`)
    }
  }

  /** Conway votes: DReps, committee members and pools voting on earlier proposals. */
  private votes(w: Writer, rng: Rng): void {
    w.str(`,"votes":[`)
    const n = rng.range(1, 3)
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(44)
      const role = rng.next()
      const issuer =
        role < 0.6
          ? `{"role":"delegateRepresentative","from":"verificationKey","id":"${rng.pick(this.dreps)}"}`
          : role < 0.8
            ? `{"role":"constitutionalCommittee","from":"verificationKey","id":"${this.hexString(rng, 56)}"}`
            : `{"role":"stakePoolOperator","id":"${rng.pick(this.pools).id}"}`
      const metadata = rng.chance(0.3) ? `,"metadata":${this.anchor(rng)}` : ""
      w.str(`{"issuer":${issuer},"vote":"${rng.pick(["yes", "yes", "no", "abstain"])}","proposal":{"transaction":{"id":"`)
      this.hex(w, rng, 64)
      w.str(`"},"index":${rng.int(3)}}${metadata}}`)
    }
    w.byte(93)
  }

  /** A Conway governance proposal: an info action or a treasury withdrawal, with deposit and anchor. */
  private proposals(w: Writer, rng: Rng): void {
    const action = rng.chance(0.6)
      ? `{"type":"information"}`
      : `{"type":"treasuryWithdrawals","withdrawals":{"${this.hexString(rng, 56)}":{"ada":{"lovelace":${rng.range(1, 50_000) * 1_000_000}}}},"guardrails":${rng.chance(0.5) ? "null" : `{"hash":"${this.hexString(rng, 56)}"}`}}`
    w.str(`,"proposals":[{"deposit":{"ada":{"lovelace":100000000000}},"returnAccount":"`)
    w.raw(rng.pick(this.stakeAddresses))
    w.str(`","metadata":${this.anchor(rng)},"action":${action}}]`)
  }

  /** Redeemers of a Plutus transaction (spending inputs 0..n-1): CBOR Plutus data with execution units. */
  private redeemers(w: Writer, rng: Rng, inputs: number): void {
    w.raw(K.redeemers)
    const n = rng.range(1, inputs)
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(44)
      w.raw(rng.pick(this.encoded.redeemers[i]!))
    }
    w.byte(93)
  }

  private redeemer(w: Writer, rng: Rng, index: number): void {
    w.str(`{"validator":{"purpose":"spend","index":${index}},"redeemer":"`)
    w.raw(rng.pick(this.datums))
    w.str(`","executionUnits":{"memory":`)
    w.num(rng.range(1_000, 14_000_000))
    w.str(`,"cpu":`)
    w.num(rng.range(100_000, 10_000_000_000))
    w.str(`}}`)
  }

  private metadata(w: Writer, rng: Rng): void {
    w.raw(K.metadata)
    this.hex(w, rng, 64)
    if (rng.chance(0.25)) return w.raw(rng.pick(this.encoded.nftMetadata))
    w.raw(K.labels)
    const n = rng.chance(0.1) ? rng.range(10, 60) : rng.range(1, 4)
    for (let i = 0; i < n; i++) {
      w.str(i > 0 ? `,"${rng.pick(WORDS)} ${rng.pick(WORDS)} ` : `"${rng.pick(WORDS)} ${rng.pick(WORDS)} `)
      w.num(rng.int(1e6))
      w.byte(32)
      this.hex(w, rng, 32)
      w.byte(34)
    }
    w.byte(93)
    if (rng.chance(0.2)) w.str(`,"n":${rng.range(1, 9)}${String(rng.nextU32()).padStart(10, "0")}${String(rng.int(1e8)).padStart(8, "0")}`)
    w.raw(K.close4)
  }

  private transaction(w: Writer, rng: Rng, header: BlockHeaderSpec): void {
    const rank = ERA_RANK[header.era]
    const nIn = this.idAndInputs(w, rng, 4)
    const plutus = rank >= ERA_RANK.alonzo && rng.chance(0.2)
    if (rank >= ERA_RANK.babbage && plutus && rng.chance(0.6)) {
      w.raw(K.references)
      this.outRef(w, rng)
      w.byte(93)
    }
    w.raw(K.outputs)
    const nOut = rng.range(1, 5)
    for (let i = 0; i < nOut; i++) {
      if (i > 0) w.byte(44)
      this.output(w, rng, rank)
    }
    w.byte(93)
    if (plutus) {
      w.raw(K.collaterals)
      this.outRef(w, rng)
      w.byte(93)
      if (rank >= ERA_RANK.babbage) {
        w.raw(K.collateralReturn)
        w.raw(rng.pick(this.addresses))
        w.raw(K.valueOpen)
        w.num(rng.range(1_000_000, 90_000_000))
        w.raw(K.close3)
        w.raw(K.totalCollateral)
        w.num(rng.range(300_000, 5_000_000))
        w.byte(125)
        w.byte(125)
      }
      w.raw(K.scriptIntegrityHash)
      this.hex(w, rng, 64)
      w.raw(K.requiredSigners)
      this.hex(w, rng, 56)
      w.byte(34)
      w.byte(93)
    }
    if (rng.chance(rank >= ERA_RANK.conway ? 0.08 : 0.05)) {
      w.raw(K.certificates)
      const n = rng.range(1, 2)
      for (let i = 0; i < n; i++) {
        if (i > 0) w.byte(44)
        w.raw(rng.pick(rank >= ERA_RANK.conway ? this.encoded.conwayCertificates : this.encoded.certificates))
      }
      w.byte(93)
    }
    if (rng.chance(0.08)) {
      w.raw(K.withdrawals)
      w.raw(rng.pick(this.stakeAddresses))
      w.raw(K.adaLovelace)
      w.num(rng.range(0, 500_000_000))
      w.raw(K.close3)
    }
    if (rank >= ERA_RANK.mary && rng.chance(0.05)) {
      w.raw(K.mint)
      this.assets(w, rng, true)
      w.byte(125)
    }
    w.raw(K.fee)
    w.num(rng.range(160_000, 2_000_000))
    w.byte(125)
    w.byte(125)
    const invalidAfter = header.slot + rng.range(600, 10_000)
    if (rank >= ERA_RANK.allegra && rng.chance(0.3)) {
      w.raw(K.invalidBefore)
      w.num(Math.max(0, header.slot - rng.range(0, 600)))
      w.raw(K.invalidAfterComma)
    } else {
      w.raw(K.invalidAfter)
    }
    w.num(invalidAfter)
    w.byte(125)
    if (rank >= ERA_RANK.conway) {
      // one draw: a proposal (0.5 % of transactions) or votes (3 %)
      const governance = rng.next()
      if (governance < 0.005) w.raw(rng.pick(this.encoded.proposals))
      else if (governance < 0.035) w.raw(rng.pick(this.encoded.votes))
    }
    if (rng.chance(0.12)) this.metadata(w, rng)
    w.raw(K.signatories)
    const nSig = rng.range(1, 3)
    for (let i = 0; i < nSig; i++) {
      if (i > 0) w.byte(44)
      w.raw(K.key)
      this.hex(w, rng, 64)
      w.raw(K.signature)
      this.hex(w, rng, 128)
      w.byte(34)
      w.byte(125)
    }
    w.byte(93)
    if (plutus) this.redeemers(w, rng, nIn)
    w.byte(125)
  }
}
