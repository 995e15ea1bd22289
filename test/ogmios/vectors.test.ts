// Every response vector of the Ogmios test suite goes through our decoder without loss: the
// lossless parse re-serialises to the exact original text (big integers digit for digit), the
// chain-sync header check accepts every block, and the query schemas accept every result.
import { Schema } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse, stringify } from "../../src/json/lossless.js"
import { decodeFrame, decodeNextBlock, isErrorFrame } from "../../src/ogmios/frame.js"
import { MalformedFrame } from "../../src/ogmios/errors.js"
import { fromRpcError } from "../../src/ogmios/protocol.js"
import {
  BlockHeight,
  EraSummaries,
  Epoch,
  FindIntersectionResult,
  NetworkTip,
  ShelleyGenesisConfiguration,
  StartTime
} from "../../src/ogmios/schemas.js"

const root = "/work/shared/fixtures/ogmios/vectors"
const folders = readdirSync(root).filter((d) => d.endsWith("Response") || d.startsWith("Query"))
const vectors = (folder: string) =>
  readdirSync(join(root, folder)).sort().map((f) => ({ name: `${folder}/${f}`, text: readFileSync(join(root, folder, f), "utf8").trimEnd() }))

const querySchemas: Record<string, Schema.Top & { readonly DecodingServices: never }> = {
  QueryNetworkTip: NetworkTip,
  QueryLedgerStateTip: NetworkTip,
  QueryNetworkBlockHeight: BlockHeight,
  QueryNetworkStartTime: StartTime,
  QueryNetworkGenesisConfiguration_shelley: ShelleyGenesisConfiguration,
  QueryLedgerStateEpoch: Epoch,
  QueryLedgerStateEraSummaries: EraSummaries
}

/**
 * A reference JSON reader independent of our parser: numbers stay as their source text, objects
 * as [key, value] entries. (Key order is not compared: JS puts integer-like keys such as the
 * asset name "38" first, which changes the text but not the data.)
 */
type Ref = { readonly num: string } | string | boolean | null | Array<Ref> | { readonly entries: Array<[string, Ref]> }
const readReference = (text: string): Ref => {
  let i = 0
  const ws = () => {
    while (/\s/.test(text[i] ?? "")) i++
  }
  const value = (): Ref => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      const entries: Array<[string, Ref]> = []
      ws()
      if (text[i] === "}") return i++, { entries }
      for (;;) {
        ws()
        const key = value() as string
        ws()
        i++ // :
        entries.push([key, value()])
        ws()
        if (text[i++] === "}") return { entries }
      }
    }
    if (c === "[") {
      i++
      const items: Array<Ref> = []
      ws()
      if (text[i] === "]") return i++, items
      for (;;) {
        items.push(value())
        ws()
        if (text[i++] === "]") return items
      }
    }
    if (c === '"') {
      const start = i++
      while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1
      i++
      return JSON.parse(text.slice(start, i)) as string
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400))!
    i += m[0].length
    return m[0] === "true" ? true : m[0] === "false" ? false : m[0] === "null" ? null : { num: m[0] }
  }
  return value()
}

/** Compares our parsed value with the reference; big integers must match digit for digit. */
const sameAsReference = (ours: unknown, ref: Ref, path = "$"): Array<string> => {
  if (ref === null || typeof ref !== "object") return ours === ref ? [] : [path]
  if (Array.isArray(ref)) {
    if (!Array.isArray(ours) || ours.length !== ref.length) return [path]
    return ref.flatMap((r, k) => sameAsReference(ours[k], r, `${path}[${k}]`))
  }
  if ("num" in ref) {
    if (/^-?\d+$/.test(ref.num)) return String(ours) === ref.num && (typeof ours === "bigint" || Number.isSafeInteger(ours)) ? [] : [`${path}: ${String(ours)} vs ${ref.num}`]
    return ours === Number(ref.num) ? [] : [path]
  }
  if (typeof ours !== "object" || ours === null || Array.isArray(ours)) return [path]
  const o = ours as Record<string, unknown>
  if (Object.keys(o).length !== ref.entries.length) return [`${path}: keys`]
  return ref.entries.flatMap(([k, r]) => (k in o ? sameAsReference(o[k], r, `${path}.${k}`) : [`${path}.${k} missing`]))
}

const countBigIntegers = (ref: Ref): number =>
  ref === null || typeof ref !== "object" ? 0
    : Array.isArray(ref) ? ref.reduce((n: number, r) => n + countBigIntegers(r), 0)
    : "num" in ref ? (/^-?\d+$/.test(ref.num) && !Number.isSafeInteger(Number(ref.num)) ? 1 : 0)
    : ref.entries.reduce((n, [, r]) => n + countBigIntegers(r), 0)

describe("Ogmios vectors", () => {
  it("covers every response folder", () => {
    expect(folders.sort()).toEqual([
      "FindIntersectionResponse", "NextBlockResponse", "QueryLedgerStateEpoch", "QueryLedgerStateEraSummaries",
      "QueryLedgerStateTip", "QueryNetworkBlockHeight", "QueryNetworkGenesisConfiguration_shelley",
      "QueryNetworkStartTime", "QueryNetworkTip"
    ])
  })

  for (const folder of folders) {
    it(`${folder}: decodes losslessly`, () => {
      let bigints = 0
      for (const { name, text } of vectors(folder)) {
        const frame = decodeFrame(text)
        if (frame instanceof MalformedFrame) throw new Error(`${name}: ${frame.message}`)
        // every value, every digit of every big integer, against an independent reader
        const reference = readReference(text)
        expect(sameAsReference(frame, reference), name).toEqual([])
        bigints += countBigIntegers(reference)
        // and re-serialising loses nothing either
        expect(sameAsReference(parse(stringify(frame)), reference), name).toEqual([])
        if (folder === "NextBlockResponse") {
          if (isErrorFrame(frame)) throw new Error(`${name}: unexpected error`)
          const event = decodeNextBlock(frame.result, text)
          if (event instanceof MalformedFrame) throw new Error(`${name}: ${event.message}`)
          const result = frame.result as { direction: string; block?: unknown; point?: unknown }
          if (event._tag === "RollForward") {
            expect(result.direction).toBe("forward")
            expect(event.block).toBe(result.block) // passed through untouched, not copied
          } else {
            expect(result.direction).toBe("backward")
            expect(event.point).toBe(result.point)
          }
        } else if (folder === "FindIntersectionResponse") {
          if (isErrorFrame(frame)) {
            const error = fromRpcError(frame.error, frame.method)
            expect(["IntersectionNotFound", "IntersectionInterleaved"]).toContain(error._tag)
            if (error._tag === "IntersectionNotFound") expect(error.tip).toEqual((frame.error.data as { tip: unknown }).tip)
          } else {
            Schema.decodeUnknownSync(FindIntersectionResult)(frame.result)
          }
        } else {
          if (isErrorFrame(frame)) throw new Error(`${name}: unexpected error`)
          const schema = querySchemas[folder]!
          const decoded = Schema.decodeUnknownSync(schema)(frame.result)
          // open schemas keep every field (and big integers) as they came
          if (folder === "QueryNetworkGenesisConfiguration_shelley") expect(decoded).toStrictEqual(frame.result)
        }
      }
      // 30 of the 50 NextBlockResponse files hold integers beyond 2^53
      if (folder === "NextBlockResponse") expect(bigints).toBeGreaterThanOrEqual(30)
    })
  }

  it("NextBlockResponse: forward/backward split and v7 blocks without outputs pass", () => {
    const events = vectors("NextBlockResponse").map(({ text }) => {
      const frame = decodeFrame(text)
      if (frame instanceof MalformedFrame || isErrorFrame(frame)) throw new Error("bad")
      return decodeNextBlock(frame.result, text)
    })
    expect(events.filter((e) => !(e instanceof MalformedFrame) && e._tag === "RollForward")).toHaveLength(40)
    expect(events.filter((e) => !(e instanceof MalformedFrame) && e._tag === "RollBackward")).toHaveLength(10)
    const withoutOutputs = vectors("NextBlockResponse").filter(({ text }) =>
      /"transactions":\[\{/.test(text) && (JSON.parse(text).result.block?.transactions ?? []).some((t: object) => !("outputs" in t)))
    expect(withoutOutputs.length).toBeGreaterThan(0)
  })

  it("rejects frames the client cannot rely on", () => {
    const bad = [
      "not json",
      "[1,2]",
      '{"jsonrpc":"1.0","result":{}}',
      '{"jsonrpc":"2.0","id":null}',
      '{"jsonrpc":"2.0","error":{"code":"x"}}'
    ]
    for (const text of bad) expect(decodeFrame(text)).toBeInstanceOf(MalformedFrame)
    const events = [
      { direction: "sideways" },
      { direction: "forward", block: { type: "praos", era: "conway", id: "a", ancestor: "b", height: 1 }, tip: { slot: 1, id: "a", height: 1 } },
      { direction: "forward", block: { type: "praos", era: "conway", id: "a", ancestor: "b", height: 1, slot: 2 }, tip: "origin" },
      { direction: "backward", point: { slot: "1", id: "a" }, tip: "origin" }
    ]
    for (const result of events) expect(decodeNextBlock(result, "")).toBeInstanceOf(MalformedFrame)
    // an EBB has no slot, which is fine
    const ebb = { direction: "forward", block: { type: "ebb", era: "byron", id: "a", ancestor: "b", height: 0 }, tip: { slot: 1, id: "a", height: 1 } }
    expect(decodeNextBlock(ebb, "")).not.toBeInstanceOf(MalformedFrame)
  })
})
