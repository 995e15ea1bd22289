import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Block } from "../../src/domain/block.js"
import { jsonArrayBatcher } from "../../src/backfill/batch.js"
import { encodeBlock, encodeBlocks, prepareBlock, STAKE_CREDENTIAL_DEPOSIT, WIRE_FORMATS, type WireFormat } from "../../src/domain/wire-format.js"
import { bigIntSites, parse, stringify } from "../../src/json/lossless.js"
import { decodeFrame } from "../../src/ogmios/frame.js"
import { Chain } from "../../src/simulator/index.js"
import { propertyRuns } from "../../src/testing/index.js"

const DIR = "/work/shared/fixtures/ogmios/vectors/NextBlockResponse"

interface Vector {
  readonly file: string
  readonly text: string
  readonly block: Block
}

const vectors: ReadonlyArray<Vector> = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .flatMap((file) => {
    const text = readFileSync(join(DIR, file), "utf8")
    const msg = parse(text) as { result: { direction: string; block?: Block } }
    return msg.result.direction === "forward" && msg.result.block !== undefined ? [{ file, text, block: msg.result.block }] : []
  })
const praos = vectors.filter((v) => v.block.type === "praos")

const LONG = /[:[,]-?\d{16,}/g
const DROPPED = ["datums", "scripts", "redeemers"]
const countBigInts = (u: unknown): number =>
  typeof u === "bigint" ? 1 : Array.isArray(u) ? u.reduce((n: number, x) => n + countBigInts(x), 0)
  : typeof u === "object" && u !== null ? Object.values(u).reduce((n: number, x) => n + countBigInts(x), 0) : 0

describe("wire format (reference §2.3)", () => {
  it("has enough Praos vectors, some with unsafe integers and deposit-less certificates", () => {
    expect(praos.length).toBeGreaterThanOrEqual(30)
    expect(praos.some((v) => countBigInts(v.block.transactions) > 0)).toBe(true)
  })

  it("emits exactly slot, hash, blocktype, era, ancestor, nonce, height, size, protocol, transactions", () => {
    for (const { block, file } of praos) {
      const out = prepareBlock(block)
      expect(Object.keys(out), file).toEqual(
        ["slot", "hash", "blocktype", "era", "ancestor", "nonce", "height", "size", "protocol", "transactions"]
      )
      expect(out.slot).toBe(block.slot)
      expect(out.hash).toBe(block.id)
      expect(out.blocktype).toBe("praos")
      expect(out.era).toBe(block.era)
      expect(out.ancestor).toBe(block.ancestor)
      expect(out.height).toBe(block.height)
      expect(out.size).toEqual(block.size)
      expect(out.protocol).toEqual(block["protocol"])
      expect("issuer" in out).toBe(false)
      // the serialised key order is the object order
      const text = encodeBlock(block)
      expect(text.startsWith(`{"slot":${block.slot},"hash":"${block.id}","blocktype":"praos","era":"${block.era}"`)).toBe(true)
      const issuer = block["issuer"] as { operationalCertificate: { sigma: string }; vrfVerificationKey: string }
      expect(text).not.toContain(issuer.operationalCertificate.sigma)
      expect(text).not.toContain(issuer.vrfVerificationKey)
    }
  })

  it("writes nonce as null when Ogmios omits it, and keeps it when present", () => {
    const without = praos.filter((v) => !("nonce" in v.block))
    const withNonce = praos.filter((v) => "nonce" in v.block)
    expect(without.length).toBeGreaterThan(0)
    expect(withNonce.length).toBeGreaterThan(0)
    for (const v of without) expect(encodeBlock(v.block)).toContain(`"ancestor":"${v.block.ancestor}","nonce":null,"height":`)
    for (const v of withNonce) expect(prepareBlock(v.block).nonce).toEqual(v.block["nonce"])
  })

  it("drops datums, scripts and redeemers from every transaction and keeps the other keys in Ogmios order", () => {
    let dropped = 0
    for (const { block, file } of praos) {
      const out = prepareBlock(block)
      const txs = (block.transactions ?? []) as ReadonlyArray<Record<string, unknown>>
      expect(out.transactions.length).toBe(txs.length)
      txs.forEach((tx, i) => {
        const got = out.transactions[i] as Record<string, unknown>
        const keys = Object.keys(tx).filter((k) => !DROPPED.includes(k))
        dropped += Object.keys(tx).length - keys.length
        expect(Object.keys(got), file).toEqual(keys)
        for (const k of keys) if (k !== "certificates") expect(got[k]).toBe(tx[k])
      })
    }
    expect(dropped).toBeGreaterThan(50)
  })

  it("injects the 2 ADA deposit into registration/deregistration certificates without one, and only there", () => {
    let injected = 0
    let kept = 0
    for (const { block } of praos) {
      const out = prepareBlock(block)
      const txs = (block.transactions ?? []) as ReadonlyArray<Record<string, unknown>>
      txs.forEach((tx, i) => {
        const certs = (tx["certificates"] ?? []) as ReadonlyArray<Record<string, unknown>>
        const outCerts = ((out.transactions[i] as Record<string, unknown>)["certificates"] ?? []) as ReadonlyArray<Record<string, unknown>>
        expect(outCerts.length).toBe(certs.length)
        certs.forEach((c, j) => {
          const o = outCerts[j]!
          const isStake = c["type"] === "stakeCredentialRegistration" || c["type"] === "stakeCredentialDeregistration"
          if (isStake && !("deposit" in c)) {
            injected++
            expect(Object.keys(o)).toEqual([...Object.keys(c), "deposit"])
            expect(o["deposit"]).toEqual({ ada: { lovelace: 2000000 } })
            expect(stringify(o)).toMatch(/,"deposit":\{"ada":\{"lovelace":2000000\}\}\}$/)
          } else {
            if (isStake) kept++
            expect(o).toBe(c)
          }
        })
      })
    }
    expect(injected).toBeGreaterThan(20)
    expect(kept).toBeGreaterThan(0) // Conway certificates carry their own deposit, left as is
    expect(STAKE_CREDENTIAL_DEPOSIT).toEqual({ ada: { lovelace: 2000000 } })
  })

  it("never mutates the input block", () => {
    for (const { block, file } of vectors) {
      const before = stringify(block)
      prepareBlock(block)
      encodeBlocks([block], "hecate")
      expect(stringify(block), file).toBe(before)
    }
  })

  it("passes big integers through digit-exact", () => {
    let checked = 0
    for (const { block, text, file } of praos) {
      const out = encodeBlock(block)
      const expectedTxs = ((block.transactions ?? []) as ReadonlyArray<Record<string, unknown>>).map((tx) =>
        Object.fromEntries(Object.entries(tx).filter(([k]) => !DROPPED.includes(k)))
      )
      const bigs = countBigInts(expectedTxs)
      expect(countBigInts(parse(out)), file).toBe(bigs)
      for (const token of out.match(LONG) ?? []) {
        expect(text, file).toContain(token.slice(1))
        checked++
      }
      expect((parse(out) as { transactions: unknown }).transactions).toEqual(
        expectedTxs.map((tx) => (parse(stringify(prepareBlock({ ...block, transactions: [tx] }).transactions[0])) ))
      )
    }
    expect(checked).toBeGreaterThan(100)
  })

  it("encodeBlocks: a compact JSON array in the hecate or the raw ogmios format", () => {
    const blocks = praos.slice(0, 5).map((v) => v.block)
    const hecate = encodeBlocks(blocks, "hecate")
    expect(hecate).toBe(`[${blocks.map((b) => encodeBlock(b)).join(",")}]`)
    expect((parse(hecate) as ReadonlyArray<unknown>).length).toBe(5)
    expect(encodeBlocks(blocks)).toBe(hecate)
    const ogmios = encodeBlocks(blocks, "ogmios")
    praos.slice(0, 5).forEach((v) => expect(ogmios).toContain(stringify(v.block)))
    expect(ogmios.startsWith(`[{"type":"praos"`)).toBe(true)
    expect(encodeBlocks([], "hecate")).toBe("[]")
  })

  it("gives Byron blocks the same layout with nulls for what they lack", () => {
    const ebb = vectors.find((v) => v.block.type === "ebb")
    const bft = vectors.find((v) => v.block.type === "bft")
    expect(ebb).toBeDefined()
    expect(bft).toBeDefined()
    const e = prepareBlock(ebb!.block)
    expect(e.slot).toBeNull()
    expect(e.transactions).toEqual([])
    const b = prepareBlock(bft!.block)
    expect(Object.keys(b)).toEqual(["slot", "hash", "blocktype", "era", "ancestor", "nonce", "height", "size", "protocol", "transactions"])
    expect(b.blocktype).toBe("bft")
    expect(b.nonce).toBeNull()
    expect(encodeBlock(bft!.block)).not.toContain("\"delegate\"")
  })
})

// The backfill encodes each block as it arrives, with the parser's bigints swapped for
// JSON.rawJSON, straight into JSON-array bytes (src/backfill/batch.ts); the stream entries must be
// the bytes the one-shot encode of the parsed array gives (stringify with the bigint fallback).
describe("per-block encode = one-shot encode of the batch", () => {
  const chain = new Chain({ network: "mainnet-shaped", epochs: { from: 500, to: 500 }, meanBlockBytes: 12_000, nextEpochBlocks: 400 })
  const tip = chain.tip()
  const frames = Array.from({ length: Math.min(400, chain.tipIndex + 1) }, (_, i) =>
    `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${chain.blockBuffer(i).toString("utf8")},"tip":${stringify(tip)}},"id":null}`
  )
  const decoded = frames.map((text) => ((decodeFrame(text) as { result: { block: Block } }).result.block))
  const oneShot = (blocks: ReadonlyArray<Block>, format: WireFormat) => stringify(format === "hecate" ? blocks.map(prepareBlock) : blocks)

  it("covers blocks with and without big integers", () => {
    const withBig = decoded.filter((b) => countBigInts(b) > 0).length
    expect(withBig).toBeGreaterThan(20)
    // and the parser's bigint sites reached the blocks (the native rawJSON path is the one tested)
    expect(decoded.filter((b) => bigIntSites(b) !== undefined).length).toBe(withBig)
    expect(decoded.length - withBig).toBeGreaterThan(20)
  })

  for (const format of WIRE_FORMATS) {
    it(`gives the same bytes in the ${format} format (encodeBlocks, encodeBlock, jsonArrayBatcher)`, () => {
      const before = decoded.map((b) => stringify(b))
      // a small first buffer, so the batcher grows and reuses its buffers on the way
      const batcher = jsonArrayBatcher(format, 1024)
      for (let i = 0; i < decoded.length; i += 37) {
        const blocks = decoded.slice(i, i + 37)
        const expected = oneShot(blocks, format)
        expect(encodeBlocks(blocks, format)).toBe(expected)
        expect(`[${blocks.map((b) => encodeBlock(b, format)).join(",")}]`).toBe(expected)
        for (const b of blocks) batcher.add(b)
        const batch = batcher.take()
        expect(batch.data.toString("utf8")).toBe(expected)
        expect(batch.data.equals(Buffer.from(expected, "utf8"))).toBe(true)
        expect(batch.blockCount).toBe(blocks.length)
        expect(batch.lastHeight).toBe(blocks[blocks.length - 1]!.height)
        batcher.written(batch)
      }
      // the bigints are back in place after the rawJSON swap
      expect(decoded.map((b) => stringify(b))).toEqual(before)
      expect(decoded.reduce((n, b) => n + countBigInts(b), 0)).toBeGreaterThan(20)
    })
  }

  it("hands a batch over in parts whose bytes, concatenated, are the whole batch's (any part size, any batch size)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WIRE_FORMATS),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 0, max: decoded.length - 1 }),
        fc.integer({ min: 1, max: 200 }),
        (format, partBytes, batchSize, from, count) => {
          const blocks = decoded.slice(from, from + count)
          const batcher = jsonArrayBatcher(format, 512, partBytes)
          const entries: Array<{ data: Buffer; blockCount: number; lastHeight: number }> = []
          let parts: Array<Buffer> = []
          const hand = (complete: boolean) => {
            const part = batcher.take(complete)
            // staged: the bytes handed over before this part, of the same batch
            expect(part.staged).toBe(parts.reduce((n, p) => n + p.length, 0))
            expect(part.complete).toBe(complete)
            parts.push(Buffer.from(part.data))
            batcher.written(part)
            if (complete) {
              entries.push({ data: Buffer.concat(parts), blockCount: part.blockCount, lastHeight: part.lastHeight })
              parts = []
            }
          }
          for (const b of blocks) {
            batcher.add(b)
            if (batcher.size >= batchSize) hand(true)
            else if (batcher.partReady === true) hand(false)
          }
          if (batcher.size > 0) hand(true)
          const expected = Array.from({ length: Math.ceil(blocks.length / batchSize) }, (_, k) => blocks.slice(k * batchSize, (k + 1) * batchSize))
          expect(entries.map((e) => e.data.toString("utf8"))).toEqual(expected.map((bs) => oneShot(bs, format)))
          expect(entries.map((e) => [e.blockCount, e.lastHeight])).toEqual(expected.map((bs) => [bs.length, bs[bs.length - 1]!.height]))
        }
      ),
      { numRuns: propertyRuns(60) }
    )
  })

  it("falls back exactly for bigints the parser did not place (built in code, or a reviver parse)", () => {
    const block = { ...decoded[0]!, extra: { q: 18_446_744_073_709_551_615n } } as Block
    expect(encodeBlock(block, "ogmios")).toBe(stringify(block))
    expect(encodeBlock(block, "ogmios")).toContain('"q":18446744073709551615')
  })
})
