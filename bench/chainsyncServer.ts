/**
 * Bench server (run as a child process): a minimal Ogmios chain-sync endpoint over a fixed chain
 * of realistic Babbage-like blocks (10-60 KB of JSON each). Block bodies come from a pool of
 * pre-encoded buffers and only the header (id/height/slot/ancestor) differs per block, so the
 * server spends its time on the socket, not on JSON. Also serves GET /health, which the official
 * client reads before connecting.
 *
 * Or, with `simulator`, the project's chain simulator (src/simulator) with ~32 KB blocks, every
 * block generated (and cached) before the port is printed so generation is not measured.
 *
 *   node chainsyncServer.js <blocks> [frames|simulator]   -> prints {"port":N,...} once listening
 */
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"

const rng = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
  return seed / 0x7fffffff
}
const rand = rng(42)
const hex = (bytes: number) => {
  let s = ""
  while (s.length < bytes * 2) s += Math.floor(rand() * 0xffffffff).toString(16).padStart(8, "0")
  return s.slice(0, bytes * 2)
}
const int = (max: number) => Math.floor(rand() * max)

const transaction = (bigIntegers: boolean) => ({
  id: hex(32),
  spends: "inputs",
  inputs: Array.from({ length: 1 + int(4) }, () => ({ transaction: { id: hex(32) }, index: int(8) })),
  outputs: Array.from({ length: 1 + int(4) }, () => ({
    address: `addr1${hex(50)}`,
    value: {
      ada: { lovelace: 1_000_000 + int(900_000_000_000) },
      ...(rand() < 0.3 ? { [hex(28)]: { [hex(8)]: bigIntegers ? 18_446_744_073_709_551_615n : int(1_000_000_000) } } : {})
    },
    ...(rand() < 0.2 ? { datum: hex(64 + int(256)) } : {})
  })),
  fee: { ada: { lovelace: 170_000 + int(500_000) } },
  validityInterval: { invalidBefore: int(100_000_000), invalidAfter: int(200_000_000) },
  signatories: Array.from({ length: 1 + int(3) }, () => ({ key: hex(32), signature: hex(64) })),
  ...(rand() < 0.2 ? { metadata: { hash: hex(32), labels: { "674": { json: { msg: [`payment ${int(1e6)}`] } } } } } : {}),
  cbor: hex(200 + int(400))
})

/** A block body (everything after the header fields) of roughly `target` bytes of JSON. */
export const blockBody = (target: number, bigIntegers = false): string => {
  const txs: Array<unknown> = []
  let size = 600
  while (size < target) {
    const tx = transaction(bigIntegers)
    txs.push(tx)
    size += JSON.stringify(tx, (_k, v) => (typeof v === "bigint" ? Number(v) : v)).length + 1
  }
  const body = {
    size: { bytes: Math.round(size / 2.2) },
    nonce: { output: hex(32), proof: hex(80) },
    issuer: { verificationKey: hex(32), vrfVerificationKey: hex(32), operationalCertificate: { count: int(20), kes: { period: int(900), verificationKey: hex(32) } }, leaderValue: { output: hex(64), proof: hex(80) } },
    protocol: { version: { major: 8, minor: 0 } },
    transactions: txs
  }
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString()) : v))
  return text.slice(1, -1) // without braces: spliced after the header fields
}

const blockId = (height: number) => createHash("sha256").update(`bench/${height}`).digest("hex")

const simulator = async (count: number) => {
  const { startSimulator } = await import("../src/simulator/index.js")
  const meanBlockBytes = 32 * 1024
  const sim = await startSimulator({ port: 0, initialBlocks: count + 1, meanBlockBytes, emptyBlockRate: 0, cacheBytes: Math.ceil(count * meanBlockBytes * 2), seed: "bench" })
  const sizes: Array<number> = []
  for (let i = 0; i <= sim.chain.tipIndex; i++) sizes.push(sim.chain.blockBuffer(i).length)
  process.stdout.write(`${JSON.stringify({ port: sim.port, avgBlockBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length), minBlockBytes: Math.min(...sizes), maxBlockBytes: Math.max(...sizes) })}\n`)
}

const main = async () => {
  const count = Number(process.argv[2] ?? 20_000)
  if (process.argv[3] === "simulator") return simulator(count)
  const pool = Array.from({ length: 64 }, () => Buffer.from(`,${blockBody(10_000 + int(50_000))}},"tip":`))
  const tipHeight = count
  const tip = Buffer.from(`{"slot":${tipHeight * 20},"id":"${blockId(tipHeight)}","height":${tipHeight}}},"id":null}`)
  const prefix = Buffer.from('{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":{"type":"praos","era":"babbage",')
  const frame = (height: number) =>
    Buffer.concat([
      prefix,
      Buffer.from(`"id":"${blockId(height)}","ancestor":"${height === 1 ? "genesis" : blockId(height - 1)}","height":${height},"slot":${height * 20}`),
      pool[height % pool.length]!,
      tip
    ])
  const tipJson = JSON.parse(tip.toString().slice(0, tip.indexOf("}") + 1)) as unknown

  const http = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ lastTipUpdate: new Date().toISOString(), networkSynchronization: 1, lastKnownTip: tipJson, connectionStatus: "connected", version: "v6.14.0 (bench)" }))
    } else res.writeHead(404).end()
  })
  const wss = new WebSocketServer({ server: http, maxPayload: 128 * 1024 * 1024 })
  wss.on("connection", (ws) => {
    let cursor = 0 // next height to send; 0 = the backward to origin is owed
    let held = 0
    const reply = (id: unknown) => {
      if (cursor === 0) {
        cursor = 1
        ws.send(`{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"backward","point":"origin","tip":${JSON.stringify(tipJson)}},"id":${JSON.stringify(id ?? null)}}`)
      } else if (cursor <= count) ws.send(frame(cursor++))
      else held++ // at the tip: hold
    }
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { method: string; id?: unknown }
      if (msg.method === "nextBlock") reply(msg.id)
      else if (msg.method === "findIntersection") {
        cursor = 0
        ws.send(JSON.stringify({ jsonrpc: "2.0", method: "findIntersection", result: { intersection: "origin", tip: tipJson }, id: msg.id ?? null }))
      } else ws.send(JSON.stringify({ jsonrpc: "2.0", error: { code: -32600, message: "unsupported in bench" }, id: msg.id ?? null }))
    })
    void held
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const sizes = pool.map((b) => b.length)
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, avgBlockBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length), minBlockBytes: Math.min(...sizes), maxBlockBytes: Math.max(...sizes) })}\n`)
}

if (process.argv[1]?.endsWith("chainsyncServer.js")) void main()
