/**
 * A large random sample of every kind of message the simulator sends, validated against the
 * official Ogmios schemas v6.14 and v7.0 (ajv draft-07; see ./schemas.ts for the in-memory patches).
 */
import { afterAll, expect, it } from "vitest"
import { Rng } from "../../src/simulator/rng.js"
import { startSimulator, type SimulatorHandle, type SimulatorOptions, type PraosEra } from "../../src/simulator/index.js"
import { connect, findIntersection, nextBlock, type RawClient } from "./raw-client.js"
import { type SchemaVersion, validate, validateBoth } from "./schemas.js"

const sims: Array<SimulatorHandle> = []
afterAll(async () => {
  for (const s of sims) await s.stop()
})

const counts = new Map<string, number>()
const failures: Array<string> = []
const check = (name: string, kind: string, text: string, versions: ReadonlyArray<SchemaVersion> = ["v6.14", "v7.0"]) => {
  counts.set(kind, (counts.get(kind) ?? 0) + 1)
  // ajv validates plain JSON.parse output (it rejects bigint as "integer"); precision does not matter here
  const errors = validate(versions, name, JSON.parse(text))
  if (errors.length > 0 && failures.length < 5) failures.push(`${kind}: ${errors.join(" | ").slice(0, 800)}`)
}

const queries = async (c: RawClient, label: string) => {
  const methods: Array<[string, string, unknown?]> = [
    ["queryNetwork/tip", "QueryNetworkTipResponse"],
    ["queryNetwork/blockHeight", "QueryNetworkBlockHeightResponse"],
    ["queryNetwork/startTime", "QueryNetworkStartTimeResponse"],
    ["queryNetwork/genesisConfiguration", "QueryNetworkGenesisConfigurationResponse", { era: "byron" }],
    ["queryNetwork/genesisConfiguration", "QueryNetworkGenesisConfigurationResponse", { era: "shelley" }],
    ["queryNetwork/genesisConfiguration", "QueryNetworkGenesisConfigurationResponse", { era: "alonzo" }],
    ["queryLedgerState/epoch", "QueryLedgerStateEpochResponse"],
    ["queryLedgerState/eraSummaries", "QueryLedgerStateEraSummariesResponse"],
    ["queryLedgerState/tip", "QueryLedgerStateTipResponse"]
  ]
  for (const [method, name, params] of methods) {
    c.send({ jsonrpc: "2.0", method, ...(params ? { params } : {}), id: { requestId: label } })
    check(name, `${method} (${label})`, await c.nextText())
  }
  // the Conway genesis differs between server versions (v7 adds the V3 cost model): the default
  // simulator speaks v6.14
  c.send({ jsonrpc: "2.0", method: "queryNetwork/genesisConfiguration", params: { era: "conway" }, id: label })
  check("QueryNetworkGenesisConfigurationResponse", `conway genesis v6.14 (${label})`, await c.nextText(), ["v6.14"])
}

/** Random intersections across the chain, each followed by a backward and forwards. */
const sample = async (sim: SimulatorHandle, label: string, intersections: number) => {
  const c = await connect(sim.url)
  const rng = Rng.fromString(label)
  await queries(c, label)
  for (let i = 0; i < intersections; i++) {
    const index = rng.int(sim.chain.length - 3) // leave 2 blocks after it: the forwards must not wait at the tip
    c.send(findIntersection([{ slot: 1, id: "00".repeat(32) }, sim.chain.pointAt(index)], i))
    check("FindIntersectionResponse", "findIntersection found", await c.nextText())
    for (let k = 0; k < 3; k++) c.send(nextBlock)
    for (let k = 0; k < 3; k++) {
      const text = await c.nextText()
      const block = text.includes(`"direction":"backward"`) ? undefined : JSON.parse(text).result.block
      const kind = block === undefined ? "backward" : `forward ${block.era}${block.type === "ebb" ? " ebb" : ""}`
      check("NextBlockResponse", kind, text)
    }
  }
  c.send(findIntersection([{ slot: 1, id: "00".repeat(32) }]))
  check("FindIntersectionResponse", "findIntersection 1000", await c.nextText())
  c.send(findIntersection([sim.chain.pointAt(sim.chain.tipIndex)]))
  check("FindIntersectionResponse", "findIntersection found", await c.nextText())
  c.send(nextBlock)
  c.send(nextBlock)
  check("NextBlockResponse", "backward", await c.nextText())
  c.send(findIntersection(["origin"]))
  check("FindIntersectionResponse", "findIntersection 1001", await c.nextText())
  // a fork while waiting at the tip: backward to the fork point, then the new branch
  sim.switchFork(2, 3)
  check("NextBlockResponse", "backward (fork)", await c.nextText())
  c.send(nextBlock)
  c.send(nextBlock)
  for (let k = 0; k < 2; k++) check("NextBlockResponse", "forward (fork)", await c.nextText())
  for (const bad of ["{oops", `{"jsonrpc":"2.0","method":"nope","id":1}`, `{"jsonrpc":"2.0","method":"queryNetwork/tip","params":{"a":1}}`]) {
    c.sendText(bad)
    check("RpcError", "-32600", await c.nextText())
  }
  c.close()
}

const start = async (options: SimulatorOptions) => {
  const sim = await startSimulator({ port: 0, meanBlockBytes: 12_000, ...options })
  sims.push(sim)
  return sim
}

it("every message kind validates against Ogmios v6.14 and v7.0", async () => {
  const eras: ReadonlyArray<PraosEra> = ["shelley", "allegra", "mary", "alonzo", "babbage", "conway"]
  for (const era of eras) await sample(await start({ era, seed: era, initialBlocks: 400 }), era, 80)
  // byron: bft blocks and EBBs (short epochs so EBBs are frequent), forwards and backwards to EBB points
  const byron = await start({ era: "byron", seed: "byron", epochLength: 40, activeSlotsCoefficient: 0.3, initialBlocks: 400 })
  await sample(byron, "byron", 80)
  const ebbs = Array.from({ length: byron.chain.length - 2 }, (_, i) => i).filter((i) => byron.chain.isEbb(i))
  const b = await connect(byron.url)
  for (const [n, ebb] of ebbs.slice(0, 20).entries()) {
    // intersect at the EBB (backward to an EBB point), then at the block before it (forward of the EBB)
    for (const [at, label] of [[ebb, "ebb"], [ebb - 1, "before ebb"]] as const) {
      b.send(findIntersection([byron.chain.pointAt(at)], `${n}-${label}`))
      check("FindIntersectionResponse", `findIntersection ${label}`, await b.nextText())
      b.send(nextBlock)
      b.send(nextBlock)
      check("NextBlockResponse", `backward ${label}`, await b.nextText())
      const text = await b.nextText()
      check("NextBlockResponse", JSON.parse(text).result.block.type === "ebb" ? "forward byron ebb" : "forward byron", text)
    }
  }
  b.close()
  // mainnet-shaped across the mary -> alonzo and babbage -> conway hard forks
  await sample(await start({ network: "mainnet-shaped", epochs: { from: 289, to: 290 } }), "mainnet 289..290", 80)
  await sample(await start({ network: "mainnet-shaped", epochs: { from: 506, to: 507 } }), "mainnet 506..507", 80)

  // a server speaking v7.0: its Conway genesis validates against v7.0
  const v7 = await start({ initialBlocks: 10, version: "v7.0.0 (simulator)" })
  const g = await connect(v7.url)
  g.send({ jsonrpc: "2.0", method: "queryNetwork/genesisConfiguration", params: { era: "conway" }, id: 1 })
  check("QueryNetworkGenesisConfigurationResponse", "conway genesis v7.0", await g.nextText(), ["v7.0"])
  // ... and that of a v6.14 server does not (a check that can fail)
  const v6Conway = { jsonrpc: "2.0", method: "queryNetwork/genesisConfiguration", result: v7.chain.genesis.conway, id: 1 }
  expect(validate(["v7.0"], "QueryNetworkGenesisConfigurationResponse", v6Conway)).toHaveLength(1)
  g.close()

  // an empty chain: tip and block height are "origin", backward to origin with an origin tip
  const empty = await start({ initialBlocks: 0 })
  const c = await connect(empty.url)
  await queries(c, "empty")
  c.send(nextBlock)
  check("NextBlockResponse", "backward (origin tip)", await c.nextText())
  c.send(findIntersection([{ slot: 1, id: "00".repeat(32) }]))
  check("FindIntersectionResponse", "findIntersection 1000 (origin tip)", await c.nextText())
  c.close()
  empty.forge(1)

  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  console.log(`validated ${total} messages x 2 schema versions:`, Object.fromEntries([...counts].filter(([k]) => !k.includes("(")).sort()))
  expect(failures).toEqual([])
  // the validators do reject a broken block (a test that can fail)
  const broken = JSON.parse(empty.chain.blockBuffer(0).toString())
  delete broken.issuer
  expect(validateBoth("NextBlockResponse", { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block: broken, tip: empty.chain.tip() }, id: null })).toHaveLength(2)
  for (const era of eras) expect(counts.get(`forward ${era}`) ?? 0).toBeGreaterThan(50)
  expect(counts.get("forward byron") ?? 0).toBeGreaterThan(50)
  expect(counts.get("forward byron ebb") ?? 0).toBeGreaterThan(15)
  expect(counts.get("backward ebb") ?? 0).toBeGreaterThan(15)
  // ... and a broken EBB (an EBB has no slot) and a bft block without its delegate
  const ebb = JSON.parse(byron.chain.blockBuffer(ebbs[0]!).toString())
  const bft = JSON.parse(byron.chain.blockBuffer(ebbs[0]! + 1).toString())
  expect(validateBoth("NextBlockResponse", { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block: ebb, tip: byron.chain.tip() }, id: null })).toEqual([])
  expect(validateBoth("NextBlockResponse", { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block: { ...ebb, slot: byron.chain.slotAt(ebbs[0]!) }, tip: byron.chain.tip() }, id: null })).toHaveLength(2)
  delete bft.delegate
  expect(validateBoth("NextBlockResponse", { jsonrpc: "2.0", method: "nextBlock", result: { direction: "forward", block: bft, tip: byron.chain.tip() }, id: null })).toHaveLength(2)
  expect(total).toBeGreaterThan(2000)
  expect(counts.get("conway genesis v7.0")).toBe(1)
}, 300_000)
