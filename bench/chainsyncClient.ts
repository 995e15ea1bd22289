/**
 * Bench client (run as a fresh child process per variant, so peak RSS is its own):
 *   node chainsyncClient.js <variant> <url> <blocks> <inFlight>
 * Syncs <blocks> blocks from origin and prints {"variant","blocks","seconds","cpuSeconds","maxRssMb"}.
 */
import { Effect, Stream } from "effect"
import WebSocket from "ws"
import { OgmiosLive } from "../src/layers/OgmiosLive.js"
import { Ogmios } from "../src/services/Ogmios.js"
import { chainSync$ } from "../src/streams/chainSync.js"

type Variant = "hecate-rx" | "hecate-stream" | "official" | "bare"

const runHecateRx = (url: string, blocks: number, inFlight: number) =>
  new Promise<number>((resolve, reject) => {
    let n = 0
    const source = chainSync$({ endpoints: [url], points: ["origin"], inFlight, autoRequest: true })
    const sub = source.subscribe({
      next: (e) => {
        if (e._tag === "RollForward" && ++n === blocks) {
          sub.unsubscribe()
          resolve(n)
        }
      },
      error: reject
    })
  })

const runHecateStream = (url: string, blocks: number, inFlight: number) =>
  Effect.runPromise(
    Ogmios.use((o) =>
      o.chainSync(["origin"], { inFlight }).pipe(
        Stream.filter((e) => e._tag === "RollForward"),
        Stream.take(blocks),
        Stream.runCount
      )
    ).pipe(Effect.provide(OgmiosLive.layer({ endpoints: [url] })))
  )

const runOfficial = async (url: string, blocks: number, inFlight: number) => {
  const ogmios = await import("@cardano-ogmios/client")
  const { hostname, port } = new URL(url)
  let done: (n: number) => void = () => {}
  const finished = new Promise<number>((r) => (done = r))
  const context = await ogmios.createInteractionContext(
    (err) => console.error(err),
    () => {},
    { connection: { host: hostname, port: Number(port) } }
  )
  let n = 0
  const client = await ogmios.createChainSynchronizationClient(context, {
    rollForward: async (_, nextBlock) => {
      if (++n === blocks) done(n)
      else nextBlock()
    },
    rollBackward: async (_, nextBlock) => nextBlock()
  })
  await client.resume(["origin"], inFlight)
  const count = await finished
  await client.shutdown().catch(() => {})
  return count
}

/** The ceiling: receive frames and JSON.parse them, re-request one per reply. */
const runBare = (url: string, blocks: number, inFlight: number) =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 128 * 1024 * 1024 })
    let n = 0
    const next = '{"jsonrpc":"2.0","method":"nextBlock"}'
    ws.on("open", () => {
      ws.send('{"jsonrpc":"2.0","method":"findIntersection","params":{"points":["origin"]},"id":1}')
    })
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { method: string; result: { direction?: string } }
      if (msg.method === "findIntersection") {
        for (let i = 0; i < inFlight; i++) ws.send(next)
        return
      }
      if (msg.result.direction === "forward" && ++n === blocks) {
        ws.close()
        return resolve(n)
      }
      ws.send(next)
    })
    ws.on("error", reject)
  })

const main = async () => {
  const [variant, url, blocksArg, inFlightArg] = process.argv.slice(2) as [Variant, string, string, string]
  const blocks = Number(blocksArg)
  const inFlight = Number(inFlightArg)
  const run = { "hecate-rx": runHecateRx, "hecate-stream": runHecateStream, official: runOfficial, bare: runBare }[variant]
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  const n = await run(url, blocks, inFlight)
  const seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  process.stdout.write(`${JSON.stringify({ variant, blocks: n, seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`)
  process.exit(0)
}

if (process.argv[1]?.endsWith("chainsyncClient.js")) void main()
