/**
 * The simulated chain: a deterministic, forkable sequence of blocks.
 *
 * Only per-block metadata (slot, branch) is kept in arrays; block ids are hashes of
 * (seed, network, branch, height) and block JSON is generated on demand from the id, then kept in a
 * byte-bounded LRU of serialised buffers so serving a block twice costs a memcpy.
 *
 * Positions are indices (0 = the first block, -1 = origin); height = baseHeight + index.
 * A fork keeps indices <= forkIndex and continues on a new branch id, which enters every hash,
 * so replaced heights get new ids, slots and content.
 */
import type { EpochRow } from "../backfill/epoch-index-data.js"
import type { Block } from "../domain/block.js"
import type { Point, PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { parse } from "../json/lossless.js"
import { BlockGenerator } from "./generator.js"
import { alonzoGenesis, byronGenesis, conwayGenesis } from "./genesis.js"
import { type Era, loadMainnetData, MAINNET } from "./mainnet.js"
import { customNetwork, mainnetShapedNetwork, type Network, shelleyGenesis } from "./network.js"
import { mix32, Rng, sha256Hex } from "./rng.js"

export interface ChainOptions {
  /** Seed of every random choice. Default "hecate". */
  readonly seed?: string | number
  /** Default "custom". */
  readonly network?: "custom" | "mainnet-shaped"
  // ---- custom network
  /**
   * Era of every block (custom). Default "conway". "byron": the genesis `ebb` (height 0), then `bft`
   * blocks, and an `ebb` (no slot, the height of the block before it, point slot = epoch x
   * epochLength) opening every later epoch.
   */
  readonly era?: Era
  /**
   * Slots per epoch (custom). Default 10k/f (10_000); byron: 10k, Byron's rule (mainnet: k = 2160,
   * 21,600 slots). `simulate` refuses any other Byron length; the library takes one, for tests.
   */
  readonly epochLength?: number
  /** Default 1000; byron: 20_000. */
  readonly slotLengthMs?: number
  /** f (custom). Default 0.1. */
  readonly activeSlotsCoefficient?: number
  /** k (custom). Default 100. */
  readonly securityParameter?: number
  /** Default: chosen so the initial tip's slot time is "now" (custom). */
  readonly systemStart?: Date | string
  /** Default 42 (custom). */
  readonly networkMagic?: number
  /**
   * Network id of addresses and reward accounts and `network` of the Shelley genesis (custom):
   * 0 (default) a testnet (`addr_test…`), 1 mainnet (`addr…`). Mainnet-shaped networks are mainnet.
   */
  readonly networkId?: 0 | 1
  /** Blocks generated up front (custom). Default 1000. */
  readonly initialBlocks?: number
  // ---- mainnet-shaped network
  /** Inclusive epoch range a..b, a >= 208. Default 507..507. */
  readonly epochs?: { readonly from: number; readonly to: number }
  /** Blocks of epoch b+1 after the range, the first one real. Default 20. */
  readonly nextEpochBlocks?: number
  /** Folder holding epoch_boundaries.csv / epoch_blocks.csv. Default: the repository's data/. */
  readonly dataDir?: string
  // ---- content
  /** Mean block size in bytes (size.bytes and JSON length). Default 16_384. */
  readonly meanBlockBytes?: number
  /** Share of blocks with no transactions. Default 0.05. */
  readonly emptyBlockRate?: number
  /** Byte budget of the serialised block cache. Default 256 MiB. */
  readonly cacheBytes?: number
}

export type ChainChange =
  | { readonly kind: "forward"; readonly tipIndex: number }
  | { readonly kind: "rollback"; readonly forkIndex: number }

export interface EpochInfo {
  readonly epoch: number
  readonly firstHeight: number
  readonly lastHeight: number
  readonly blocks: number
  readonly first: Point
  readonly last: Point
}

interface Segment {
  readonly branch: number
  readonly fromIndex: number
}

export class ChainError extends Error {
  override readonly name = "ChainError"
}

export class Chain {
  readonly seed: string
  readonly network: Network
  readonly generator: BlockGenerator
  /** Height of index 0. */
  readonly baseHeight: number
  /** Lowest index a fork may keep: the mainnet anchor is immutable, a custom chain may go back to origin. */
  readonly minForkIndex: number
  readonly genesis: {
    readonly byron: ReturnType<typeof byronGenesis>
    readonly shelley: ReturnType<typeof shelleyGenesis>
    readonly alonzo: ReturnType<typeof alonzoGenesis>
    /** as Ogmios v6.14 reports it; `conwayGenesis(seed, true)` for v7 */
    readonly conway: ReturnType<typeof conwayGenesis>
  }
  /** A custom Byron chain: bft blocks and EBBs. */
  readonly byron: boolean

  private readonly slots: Array<number> = []
  private readonly ids: Array<string | undefined> = []
  private readonly segments: Array<Segment> = [{ branch: 0, fromIndex: 0 }]
  /** byron only: whether index i is an EBB, and how many EBBs sit at indices <= i */
  private readonly ebbFlags: Array<boolean> = []
  private readonly ebbCounts: Array<number> = []
  private readonly anchorAncestor: string
  /**
   * Prefix of every generated hash: the seed and the network (kind, magic and, for a custom
   * devnet, its era), so two networks simulated with one seed never share a block or transaction
   * id, as two real networks do not.
   */
  private readonly hashPrefix: string
  private nextBranch = 1
  private freshBranchOnForge = false
  private highestTipIndex = -1
  private readonly cache = new Map<string, Buffer>()
  private cacheSize = 0
  private readonly cacheBudget: number
  private readonly listeners = new Set<(change: ChainChange) => void>()
  private tipJsonCache: { index: number; branch: number; json: string } | undefined
  /** generated blocks so far (cache misses), for stats */
  generated = 0

  constructor(options: ChainOptions = {}) {
    this.seed = String(options.seed ?? "hecate")
    this.cacheBudget = options.cacheBytes ?? 256 * 1024 * 1024
    const mode = options.network ?? "custom"
    this.byron = mode === "custom" && options.era === "byron"
    this.hashPrefix =
      mode === "mainnet-shaped" ? `${this.seed}/${mode}/${MAINNET.networkMagic}` : `${this.seed}/${mode}/${options.networkMagic ?? 42}/${options.era ?? "conway"}`
    if (mode === "mainnet-shaped") {
      this.network = mainnetShapedNetwork()
      const { from, to } = options.epochs ?? { from: 507, to: 507 }
      const layout = this.layoutMainnet(from, to, options.nextEpochBlocks ?? 20, options.dataDir)
      this.baseHeight = layout.baseHeight
      this.minForkIndex = 0
    } else {
      const k = options.securityParameter ?? 100
      const f = options.activeSlotsCoefficient ?? 0.1
      const slotLengthMs = options.slotLengthMs ?? (this.byron ? 20_000 : 1000)
      if (!(f > 0 && f <= 1)) throw new ChainError(`activeSlotsCoefficient must be in (0, 1], got ${f}`)
      this.baseHeight = 0
      this.minForkIndex = -1
      // slots do not depend on the system start, so lay the chain out first
      const params = {
        era: options.era ?? "conway",
        epochLength: options.epochLength ?? (this.byron ? 10 * k : Math.round((10 * k) / f)),
        slotLengthMs,
        activeSlotsCoefficient: f,
        securityParameter: k,
        networkMagic: options.networkMagic ?? 42,
        networkId: options.networkId
      } as const
      this.network = customNetwork({ ...params, systemStart: new Date(0) })
      this.appendGenerated(options.initialBlocks ?? 1000, 0)
      const tipSlot = this.slots.at(-1) ?? 0
      const systemStart =
        options.systemStart !== undefined
          ? new Date(options.systemStart)
          : new Date(Math.floor((Date.now() - tipSlot * slotLengthMs) / 1000) * 1000)
      this.network = customNetwork({ ...params, systemStart })
    }
    this.anchorAncestor = sha256Hex(`${this.hashPrefix}/anchor-ancestor`)
    this.highestTipIndex = this.tipIndex
    this.genesis = {
      byron: byronGenesis(this.network, this.seed),
      shelley: shelleyGenesis(this.network, this.seed),
      alonzo: alonzoGenesis(this.seed),
      conway: conwayGenesis(this.seed, false)
    }
    this.generator = new BlockGenerator({
      seed: this.seed,
      meanBlockBytes: options.meanBlockBytes ?? 16_384,
      emptyBlockRate: options.emptyBlockRate ?? 0.05,
      slotsPerKesPeriod: this.network.slotsPerKesPeriod,
      // a mainnet-shaped chain pays mainnet addresses; a custom devnet is a testnet
      networkId: this.network.name === "mainnet" ? 1 : 0,
      byronProtocolMagic: this.network.name === "mainnet" ? undefined : this.network.networkMagic
    })
  }

  /**
   * anchor = real last block of epoch a-1; then per epoch e in a..b the real first block,
   * generated blocks at strictly increasing slots inside the epoch, the real last block; then the
   * real first block of b+1 and generated blocks after it.
   */
  private layoutMainnet(from: number, to: number, nextEpochBlocks: number, dataDir?: string) {
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 208 && to >= from)) {
      throw new ChainError(`mainnet-shaped epochs must be integers with 208 <= a <= b, got ${from}..${to}`)
    }
    const { boundaries } = loadMainnetData(dataDir)
    const row = (epoch: number) => {
      const r = boundaries.get(epoch)
      if (!r) throw new ChainError(`no boundary data for epoch ${epoch} (data covers ${Math.min(...boundaries.keys())}..${Math.max(...boundaries.keys())})`)
      return r
    }
    const anchor = row(from - 1)
    const baseHeight = anchor.endHeight
    const push = (slot: number, realId?: string) => {
      this.slots.push(slot)
      this.ids.push(realId)
    }
    push(anchor.endSlot, anchor.endHash)
    const seedInt = parseInt(sha256Hex(`${this.seed}/layout`).slice(0, 8), 16)
    for (let epoch = from; epoch <= to; epoch++) {
      const r = row(epoch)
      if (r.startHeight !== baseHeight + this.slots.length) throw new ChainError(`epoch ${epoch} does not follow epoch ${epoch - 1} in the data`)
      push(r.startSlot, r.startHash)
      // n generated blocks in the open interval (startSlot, endSlot): block j sits in its own
      // sub-interval [base_j, base_{j+1}), so slots are strictly increasing in O(1) per block.
      const n = r.endHeight - r.startHeight - 1
      const span = r.endSlot - r.startSlot
      for (let j = 1; j <= n; j++) {
        const lo = Math.floor((j * span) / (n + 1))
        const hi = Math.floor(((j + 1) * span) / (n + 1))
        push(r.startSlot + lo + (mix32(seedInt, r.startHeight + j) % Math.max(1, hi - lo)))
      }
      push(r.endSlot, r.endHash)
    }
    const next = boundaries.get(to + 1)
    if (next) push(next.startSlot, next.startHash)
    else push(this.network.epochStartSlot(to + 1) + 1)
    this.appendGenerated(Math.max(0, nextEpochBlocks - 1), 0)
    return { baseHeight }
  }

  // ------------------------------------------------------------------ reading

  get tipIndex(): number {
    return this.slots.length - 1
  }

  get length(): number {
    return this.slots.length
  }

  heightOf(index: number): number {
    if (!this.byron || index < 0) return this.baseHeight + index
    const ebbs = this.ebbCounts[index]
    if (ebbs === undefined) throw new ChainError(`no block at index ${index}`)
    // the genesis EBB (index 0) has height 0, every later EBB the height of the block before it
    return index - ebbs + 1
  }

  /** The first index at `height` (byron: the main block, not the EBB that shares its height). */
  indexOfHeight(height: number): number {
    if (!this.byron) return height - this.baseHeight
    let lo = 0
    let hi = this.slots.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (mid - this.ebbCounts[mid]! + 1 < height) lo = mid + 1
      else hi = mid
    }
    return lo < this.slots.length && this.heightOf(lo) === height ? lo : height < 0 ? -1 : this.slots.length
  }

  /** Whether the block at `index` is a Byron epoch boundary block. */
  isEbb(index: number): boolean {
    return this.ebbFlags[index] === true
  }

  branchAt(index: number): number {
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const seg = this.segments[s]!
      if (seg.fromIndex <= index) return seg.branch
    }
    return 0
  }

  slotAt(index: number): number {
    const slot = this.slots[index]
    if (slot === undefined) throw new ChainError(`no block at index ${index}`)
    return slot
  }

  idAt(index: number): string {
    const cached = this.ids[index]
    if (cached !== undefined) return cached
    if (index < 0 || index > this.tipIndex) throw new ChainError(`no block at index ${index}`)
    const key = `${this.hashPrefix}/${this.branchAt(index)}/${this.heightOf(index)}`
    const id = sha256Hex(this.isEbb(index) ? `${key}/ebb` : key)
    this.ids[index] = id
    return id
  }

  pointAt(index: number): PointOrOrigin {
    return index < 0 ? "origin" : { slot: this.slotAt(index), id: this.idAt(index) }
  }

  tipAt(index: number): TipOrOrigin {
    return index < 0 ? "origin" : { slot: this.slotAt(index), id: this.idAt(index), height: this.heightOf(index) }
  }

  tip(): TipOrOrigin {
    return this.tipAt(this.tipIndex)
  }

  /** The tip as JSON text, cached until the chain changes. */
  tipJson(): string {
    const index = this.tipIndex
    const c = this.tipJsonCache
    if (c && c.index === index && c.branch === this.branchAt(index)) return c.json
    const tip = this.tip()
    const json = tip === "origin" ? `"origin"` : `{"slot":${tip.slot},"id":"${tip.id}","height":${tip.height}}`
    this.tipJsonCache = { index, branch: this.branchAt(index), json }
    return json
  }

  /**
   * Index of a point on the canonical chain (-1 for origin), or undefined. Binary search by slot;
   * an EBB and the first block of its epoch may share a slot, so every block at the slot is tried.
   */
  find(point: PointOrOrigin): number | undefined {
    if (point === "origin") return -1
    for (let i = this.lowerBound(point.slot); i <= this.tipIndex && this.slots[i] === point.slot; i++) {
      if (this.idAt(i) === point.id) return i
    }
    return undefined
  }

  eraAt(index: number): Era {
    return this.network.eraOf(this.network.epochOf(this.slotAt(index)))
  }

  /**
   * The era of the ledger state after the block at `index` (-1: the genesis state). Byron until
   * the first Shelley block: a custom Byron chain, and the mainnet-shaped anchor (the last Byron
   * block of epoch 207).
   */
  ledgerEraAt(index: number): Era {
    if (this.byron) return "byron"
    return index < 0 ? this.network.eraOf(0) : this.eraAt(index)
  }

  /** Block JSON as a UTF-8 buffer (cached). */
  blockBuffer(index: number): Buffer {
    const key = `${this.branchAt(index)}:${index}`
    const hit = this.cache.get(key)
    if (hit) {
      this.cache.delete(key)
      this.cache.set(key, hit)
      return hit
    }
    const buf = this.generateBlock(index)
    this.generated++
    this.cache.set(key, buf)
    this.cacheSize += buf.length
    for (const [k, v] of this.cache) {
      if (this.cacheSize <= this.cacheBudget) break
      this.cache.delete(k)
      this.cacheSize -= v.length
    }
    return buf
  }

  private generateBlock(index: number): Buffer {
    const slot = this.slotAt(index)
    const epoch = this.network.epochOf(slot)
    if (this.byron) {
      return this.generator.generateByron({
        ebb: this.isEbb(index),
        id: this.idAt(index),
        ancestor: index > 0 ? this.idAt(index - 1) : sha256Hex(`${this.hashPrefix}/byron-genesis`),
        height: this.heightOf(index),
        slot,
        networkMagic: this.network.networkMagic
      })
    }
    const era = this.network.eraOf(epoch)
    if (era === "byron") {
      // the mainnet-shaped anchor of a range from epoch 208: the real last Byron block of epoch 207
      return this.generator.generateByron({
        ebb: false,
        id: this.idAt(index),
        ancestor: index > 0 ? this.idAt(index - 1) : this.anchorAncestor,
        height: this.heightOf(index),
        slot,
        networkMagic: this.network.networkMagic
      })
    }
    return this.generator.generate({
      era,
      id: this.idAt(index),
      ancestor: index > 0 ? this.idAt(index - 1) : this.network.kind === "custom" ? "genesis" : this.anchorAncestor,
      height: this.heightOf(index),
      slot,
      protocol: this.network.protocolVersionOf(epoch)
    })
  }

  /** The canonical block at `height` (parsed losslessly), or undefined. */
  blockAt(height: number): Block | undefined {
    const index = this.indexOfHeight(height)
    if (index < 0 || index > this.tipIndex) return undefined
    return parse(this.blockBuffer(index).toString("utf8")) as Block
  }

  /** Canonical blocks from `fromHeight` to `toHeight` inclusive, EBBs included (defaults: the whole chain). */
  *blocks(fromHeight = this.baseHeight, toHeight = this.heightOf(this.tipIndex)): Generator<Block> {
    for (let i = Math.max(0, this.indexOfHeight(Math.max(fromHeight, this.baseHeight))); i <= this.tipIndex && this.heightOf(i) <= toHeight; i++) {
      yield parse(this.blockBuffer(i).toString("utf8")) as Block
    }
  }

  /** Every canonical point, oldest first. */
  canonicalPoints(): Array<Point> {
    const points: Array<Point> = []
    for (let i = 0; i <= this.tipIndex; i++) points.push({ slot: this.slots[i]!, id: this.idAt(i) })
    return points
  }

  currentEpoch(): number {
    return this.network.epochOf(this.tipIndex < 0 ? 0 : this.slotAt(this.tipIndex))
  }

  /** First/last canonical block of an epoch, or undefined when the chain has none in it. */
  epochInfo(epoch: number): EpochInfo | undefined {
    const first = this.lowerBound(this.network.epochStartSlot(epoch))
    const end = this.lowerBound(this.network.epochStartSlot(epoch + 1)) - 1
    if (first > end || first > this.tipIndex) return undefined
    return {
      epoch,
      firstHeight: this.heightOf(first),
      lastHeight: this.heightOf(end),
      blocks: end - first + 1,
      first: this.pointAt(first) as Point,
      last: this.pointAt(end) as Point
    }
  }

  /** An epoch's canonical blocks as a row of the epoch index (what a backfill derives from the node). */
  epochRow(epoch: number): EpochRow | undefined {
    const info = this.epochInfo(epoch)
    if (info === undefined) return undefined
    return {
      epoch,
      startHeight: info.firstHeight,
      startSlot: info.first.slot,
      startHash: info.first.id,
      endHeight: info.lastHeight,
      endSlot: info.last.slot,
      endHash: info.last.id,
      blocks: info.blocks
    }
  }

  /** Epochs that have canonical blocks, in order. */
  epochs(): Array<EpochInfo> {
    if (this.tipIndex < 0) return []
    const out: Array<EpochInfo> = []
    for (let e = this.network.epochOf(this.slots[0]!); e <= this.currentEpoch(); e++) {
      const info = this.epochInfo(e)
      if (info) out.push(info)
    }
    return out
  }

  /** first index whose slot >= slot */
  private lowerBound(slot: number): number {
    let lo = 0
    let hi = this.slots.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.slots[mid]! < slot) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  eraSummaries() {
    return this.network.eraSummaries(this.tipIndex < 0 ? 0 : this.slotAt(this.tipIndex))
  }

  // ------------------------------------------------------------------ changing

  subscribe(listener: (change: ChainChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(change: ChainChange) {
    for (const listener of this.listeners) listener(change)
  }

  /** Slots of new blocks follow the Praos leader lottery: geometric gaps with success rate f. */
  private appendGenerated(n: number, branch: number) {
    if (this.byron) return this.appendByron(n, branch)
    for (let i = 0; i < n; i++) {
      const index = this.slots.length
      const height = this.heightOf(index)
      const rng = Rng.fromHex(sha256Hex(`${this.seed}/${branch}/${height}/slot`))
      const previous = this.slots[index - 1]
      this.slots.push(previous === undefined ? 0 : previous + rng.geometric(this.network.activeSlotsCoefficient))
      this.ids.push(undefined)
    }
  }

  /**
   * Byron: the same lottery for bft blocks; a block whose slot would open a new epoch is replaced
   * by that epoch's EBB (point slot = first slot of the epoch), and the block after an EBB may sit
   * on the EBB's slot, as on mainnet. Keyed by index (an EBB shares its height).
   */
  private appendByron(n: number, branch: number) {
    const length = this.network.epochLength
    const push = (slot: number, ebb: boolean) => {
      this.ebbCounts.push((this.ebbCounts.at(-1) ?? 0) + (ebb ? 1 : 0))
      this.ebbFlags.push(ebb)
      this.slots.push(slot)
      this.ids.push(undefined)
    }
    for (let i = 0; i < n; i++) {
      const index = this.slots.length
      const previous = this.slots[index - 1]
      if (previous === undefined) {
        // a Byron chain starts with the genesis EBB (epoch 0), as mainnet does
        push(0, true)
        continue
      }
      const rng = Rng.fromHex(sha256Hex(`${this.seed}/${branch}/${index}/byron-slot`))
      const gap = rng.geometric(this.network.activeSlotsCoefficient)
      if (this.ebbFlags[index - 1] === true) {
        push(previous + Math.min(gap - 1, length - 1), false)
      } else {
        // a lottery gap longer than what is left of the epoch opens the next epoch, never a later
        // one: every epoch has its EBB
        const epoch = Math.floor(previous / length)
        if (Math.floor((previous + gap) / length) > epoch) push((epoch + 1) * length, true)
        else push(previous + gap, false)
      }
    }
  }

  /** Largest rollback allowed now: never below the anchor, never more than k below the highest tip seen. */
  maxRollbackDepth(): number {
    const k = this.network.securityParameter
    const floor = Math.max(this.minForkIndex, this.highestTipIndex - k)
    return Math.max(0, this.tipIndex - floor)
  }

  /** Adds `n` blocks on the current branch (a fresh branch right after a rollback). */
  forge(n = 1): void {
    if (n <= 0) return
    if (this.freshBranchOnForge) {
      this.segments.push({ branch: this.nextBranch++, fromIndex: this.slots.length })
      this.freshBranchOnForge = false
    }
    this.appendGenerated(n, this.segments.at(-1)!.branch)
    this.highestTipIndex = Math.max(this.highestTipIndex, this.tipIndex)
    this.emit({ kind: "forward", tipIndex: this.tipIndex })
  }

  /** Drops the newest `depth` blocks; the next forged block starts a new branch. Returns the fork point. */
  rollback(depth: number): PointOrOrigin {
    if (!Number.isInteger(depth) || depth < 0) throw new ChainError(`rollback depth must be a non-negative integer, got ${depth}`)
    if (depth > this.maxRollbackDepth()) {
      throw new ChainError(`rollback of ${depth} exceeds the immutable tip rule (max ${this.maxRollbackDepth()} with k=${this.network.securityParameter})`)
    }
    if (depth === 0) return this.pointAt(this.tipIndex)
    const forkIndex = this.tipIndex - depth
    this.slots.length = forkIndex + 1
    this.ids.length = forkIndex + 1
    if (this.byron) {
      this.ebbFlags.length = forkIndex + 1
      this.ebbCounts.length = forkIndex + 1
    }
    while (this.segments.length > 1 && this.segments.at(-1)!.fromIndex > forkIndex) this.segments.pop()
    this.freshBranchOnForge = true
    this.emit({ kind: "rollback", forkIndex })
    return this.pointAt(forkIndex)
  }

  /** A fork switch: roll back `depth` blocks and adopt `newBlocks` blocks of a new branch. */
  switchFork(depth: number, newBlocks: number): PointOrOrigin {
    const point = this.rollback(depth)
    this.freshBranchOnForge = true
    this.forge(newBlocks)
    return point
  }

  cacheStats() {
    return { entries: this.cache.size, bytes: this.cacheSize, budget: this.cacheBudget, generated: this.generated }
  }
}
