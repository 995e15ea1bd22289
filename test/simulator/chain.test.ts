import { bech32 } from "@scure/base"
import blake2b from "blake2b"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { stringify } from "../../src/json/lossless.js"
import { Chain } from "../../src/simulator/chain.js"
import { startSimulator } from "../../src/simulator/index.js"
import { validateBoth } from "./schemas.js"
import { connect, findIntersection, nextBlock } from "./raw-client.js"

const csv = (file: string) =>
  readFileSync(new URL(`../../data/${file}`, import.meta.url), "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.replace(/\r$/, ""))
    .filter(Boolean)
    .map((l) => l.split(","))
const boundaries = new Map(csv("epoch_boundaries.csv").map((r) => [Number(r[0]), r]))
const counts = new Map(csv("epoch_blocks.csv").map((r) => [Number(r[0]), Number(r[1])]))

describe("mainnet-shaped", () => {
  const chain = new Chain({ network: "mainnet-shaped", epochs: { from: 364, to: 366 }, meanBlockBytes: 4000 })

  it("starts at the real last block of epoch a-1 and ends epochs exactly at the CSV boundary blocks", () => {
    const anchor = boundaries.get(363)!
    expect(chain.baseHeight).toBe(Number(anchor[4]))
    expect(chain.pointAt(0)).toEqual({ slot: Number(anchor[5]), id: anchor[6] })
    for (const epoch of [364, 365, 366]) {
      const row = boundaries.get(epoch)!
      const info = chain.epochInfo(epoch)!
      expect(info.first).toEqual({ slot: Number(row[2]), id: row[3] })
      expect(info.firstHeight).toBe(Number(row[1]))
      expect(info.last).toEqual({ slot: Number(row[5]), id: row[6] })
      expect(info.lastHeight).toBe(Number(row[4]))
      expect(info.blocks).toBe(counts.get(epoch))
    }
    // epoch b is finalised: the chain continues into b+1, starting with its real first block
    expect(chain.currentEpoch()).toBe(367)
    expect(chain.epochInfo(367)!.first).toEqual({ slot: Number(boundaries.get(367)![2]), id: boundaries.get(367)![3] })
  })

  it("links generated blocks to the real ones and keeps slots strictly increasing inside each epoch", () => {
    const row = boundaries.get(365)!
    const first = chain.indexOfHeight(Number(row[1]))
    const last = chain.indexOfHeight(Number(row[4]))
    expect(chain.blockAt(chain.heightOf(first + 1))!.ancestor).toBe(row[3])
    expect(chain.blockAt(Number(row[4]))!.ancestor).toBe(chain.idAt(last - 1))
    expect(chain.blockAt(Number(row[4]))!.id).toBe(row[6])
    const points = chain.canonicalPoints()
    const notIncreasing = points.filter((p, i) => i > 0 && p.slot <= points[i - 1]!.slot)
    expect(notIncreasing).toEqual([])
    const start = 72_316_800 // epoch 365 = babbage
    const outside = points.slice(first, last + 1).filter((p) => p.slot < start || p.slot >= start + 432_000)
    expect(outside).toEqual([])
  })

  it("uses each epoch's era and protocol version; nonce only before babbage", () => {
    const alonzo = chain.blockAt(chain.epochInfo(364)!.lastHeight - 5)!
    expect(alonzo).toMatchObject({ era: "alonzo", protocol: { version: { major: 6, minor: 0 } } })
    expect(alonzo).toHaveProperty("nonce")
    const babbage = chain.blockAt(chain.epochInfo(365)!.firstHeight + 5)!
    expect(babbage).toMatchObject({ era: "babbage", protocol: { version: { major: 7, minor: 0 } } })
    expect(babbage).not.toHaveProperty("nonce")
  })

  it("reports mainnet era summaries up to the tip's era", () => {
    const summaries = chain.eraSummaries()
    expect(summaries.map((s) => s.start.epoch)).toEqual([0, 208, 236, 251, 290, 365])
    expect(summaries[1]).toEqual({
      start: { time: { seconds: 89_856_000 }, slot: 4_492_800, epoch: 208 },
      end: { time: { seconds: 101_952_000 }, slot: 16_588_800, epoch: 236 },
      parameters: { epochLength: 432_000, slotLength: { milliseconds: 1000 }, safeZone: 129_600 }
    })
    expect(summaries.at(-1)!.end.epoch).toBeGreaterThan(367)
  })

  it("from epoch 208: the anchor is the real last Byron block of epoch 207, served as a Byron block", () => {
    const from208 = new Chain({ network: "mainnet-shaped", epochs: { from: 208, to: 208 }, seed: "byron-anchor" })
    const last207 = boundaries.get(207)!
    const anchor = JSON.parse(from208.blockBuffer(0).toString("utf8"))
    expect(anchor).toMatchObject({ type: "bft", era: "byron", id: last207[6], height: Number(last207[4]), slot: 4_492_799 })
    expect(anchor.protocol).toMatchObject({ id: 764_824_073, version: { major: 1, minor: 0 } })
    expect(anchor.nonce).toBeUndefined()
    expect(anchor.issuer.vrfVerificationKey).toBeUndefined()
    const frame = { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block: anchor, tip: from208.tip() }, id: null }
    expect(validateBoth("NextBlockResponse", frame)).toEqual([])
    // ... inside the Byron era summary; the next block is the first Shelley block
    expect(from208.eraSummaries()[0]!.end.slot).toBe(4_492_800)
    expect(from208.eraAt(0)).toBe("byron")
    const first = JSON.parse(from208.blockBuffer(1).toString("utf8"))
    expect(first).toMatchObject({ type: "praos", era: "shelley", id: boundaries.get(208)![3], ancestor: last207[6], protocol: { version: { major: 2, minor: 0 } } })
  })

  it("serves the first block of epoch a after an intersection at the anchor", async () => {
    const sim = await startSimulator({ port: 0, network: "mainnet-shaped", epochs: { from: 600, to: 600 }, meanBlockBytes: 2000 })
    try {
      const c = await connect(sim.url)
      const anchor = boundaries.get(599)!
      c.send(findIntersection([{ slot: Number(anchor[5]), id: anchor[6] }]))
      expect((await c.next()).result.intersection.id).toBe(anchor[6])
      c.send(nextBlock)
      c.send(nextBlock)
      await c.next()
      const first = (await c.next()).result.block
      expect(first).toMatchObject({ id: boundaries.get(600)![3], height: Number(boundaries.get(600)![1]), ancestor: anchor[6], era: "conway" })
      c.send({ jsonrpc: "2.0", method: "queryLedgerState/epoch", id: 1 })
      expect((await c.next()).result).toBe(601)
      c.close()
    } finally {
      await sim.stop()
    }
  })
})

describe("generation", () => {
  it("is deterministic from the seed; forks change ids on the new branch only", () => {
    const a = new Chain({ seed: 7, initialBlocks: 300 })
    const b = new Chain({ seed: 7, initialBlocks: 300 })
    const c = new Chain({ seed: 8, initialBlocks: 300 })
    expect(a.canonicalPoints()).toEqual(b.canonicalPoints())
    expect(a.blockBuffer(123).equals(b.blockBuffer(123))).toBe(true)
    expect(a.idAt(5)).not.toBe(c.idAt(5))
    const before = a.canonicalPoints()
    a.switchFork(5, 6)
    const after = a.canonicalPoints()
    expect(after.slice(0, 295)).toEqual(before.slice(0, 295))
    for (let i = 295; i < 300; i++) expect(after[i]!.id).not.toBe(before[i]!.id)
    expect(a.blockAt(a.heightOf(295))!.ancestor).toBe(before[294]!.id)
    b.switchFork(5, 6)
    expect(b.canonicalPoints()).toEqual(after) // same operations, same chain
  })

  it("two networks simulated with one seed share no block or transaction id", () => {
    const txIds = (chain: Chain) => {
      const ids = new Set<string>()
      for (const block of chain.blocks()) for (const tx of (block.transactions ?? []) as Array<{ id: string }>) ids.add(tx.id)
      return ids
    }
    const chains = [
      new Chain({ seed: "same", initialBlocks: 200, meanBlockBytes: 3000 }),
      new Chain({ seed: "same", initialBlocks: 200, meanBlockBytes: 3000, networkMagic: 1097911063 }),
      new Chain({ seed: "same", era: "byron", initialBlocks: 200, meanBlockBytes: 3000 }),
      new Chain({ seed: "same", network: "mainnet-shaped", epochs: { from: 300, to: 300 }, meanBlockBytes: 3000 })
    ]
    const blockIds = chains.map((c) => new Set(c.canonicalPoints().map((p) => p.id)))
    const txs = chains.slice(0, 3).map(txIds)
    for (let i = 0; i < chains.length; i++) {
      for (let j = i + 1; j < chains.length; j++) {
        expect([...blockIds[i]!].filter((id) => blockIds[j]!.has(id))).toEqual([])
        if (j < 3) expect([...txs[i]!].filter((id) => txs[j]!.has(id))).toEqual([])
      }
    }
    // the same network and seed: the same ids
    expect(new Chain({ seed: "same", initialBlocks: 200, meanBlockBytes: 3000, networkMagic: 1097911063 }).canonicalPoints()).toEqual(chains[1]!.canonicalPoints())
  })

  it("sizes blocks around meanBlockBytes, from empty to ~90 KB", () => {
    const chain = new Chain({ initialBlocks: 1500, meanBlockBytes: 20_000 })
    let sum = 0
    let empty = 0
    let max = 0
    let jsonSum = 0
    for (let i = 0; i < chain.length; i++) {
      const buf = chain.blockBuffer(i)
      const block = JSON.parse(buf.toString())
      sum += block.size.bytes
      jsonSum += buf.length
      if (block.transactions.length === 0) empty++
      max = Math.max(max, buf.length)
    }
    const mean = sum / chain.length
    expect(mean).toBeGreaterThan(16_000)
    expect(mean).toBeLessThan(24_000)
    expect(Math.abs(jsonSum / chain.length - mean) / mean).toBeLessThan(0.1)
    expect(empty).toBeGreaterThan(20)
    expect(max).toBeGreaterThan(60_000)
    expect(max).toBeLessThan(95_000)
  })

  it("writes integers beyond 2^53 digit for digit", () => {
    const chain = new Chain({ initialBlocks: 200, meanBlockBytes: 20_000, era: "mary" })
    let big = 0
    for (let i = 0; i < chain.length; i++) big += (chain.blockBuffer(i).toString().match(/[:\[,]-?\d{17,}/g) ?? []).length
    expect(big).toBeGreaterThan(10)
  })
})

describe("stake pools", () => {
  it("a pool id is the blake2b-224 hash of the cold key that signs the pool's blocks; certificates and votes name those pools", () => {
    const chain = new Chain({ seed: "pools", initialBlocks: 400, meanBlockBytes: 8000 })
    const pools = new Map(chain.generator.stakePools.map((p) => [p.id, p]))
    for (const p of pools.values()) {
      expect(p.id).toBe(bech32.encode("pool", bech32.toWords(blake2b(28).update(Buffer.from(p.verificationKey, "hex")).digest()), false))
      expect(p.keyHash).toBe(blake2b(28).update(Buffer.from(p.verificationKey, "hex")).digest("hex"))
    }
    let named = 0
    for (const block of chain.blocks()) {
      const issuer = (block as unknown as { issuer: { verificationKey: string; vrfVerificationKey: string } }).issuer
      const id = bech32.encode("pool", bech32.toWords(blake2b(28).update(Buffer.from(issuer.verificationKey, "hex")).digest()), false)
      expect(pools.get(id)?.vrfVerificationKeyHash).toBe(blake2b(32).update(Buffer.from(issuer.vrfVerificationKey, "hex")).digest("hex"))
      const text = stringify(block.transactions ?? [])
      for (const m of text.matchAll(/"(pool1[0-9a-z]+)"/g)) {
        expect(pools.has(m[1]!)).toBe(true)
        named++
      }
    }
    expect(named).toBeGreaterThan(10)
  })
})
