/**
 * Bench child for bench/relay.ts: the floor under the relay's tip latency on this machine. The
 * least a relay can do, in a process of its own: a WebSocket chain-sync client (ws, 100 nextBlock
 * requests in flight, as the relay keeps) that parses each forward frame with JSON.parse and
 * adds one entry (`type apply height <h> block <frame>`) to the `events` stream with one XADD. No
 * reorg handling, no cursor, no atomic script: what is left of the latency is the processes, the
 * sockets and Redis.
 *
 *   node relayBare.js <ogmios-url> <redisUrl> <prefix>
 */
import { Redis } from "ioredis"
import WebSocket from "ws"

const [url, redisUrl, prefix] = process.argv.slice(2)
const redis = new Redis(redisUrl!)
const ws = new WebSocket(url!, { perMessageDeflate: false })
const send = (method: string, params?: unknown, id?: string) =>
  ws.send(JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), ...(id === undefined ? {} : { id }) }))

ws.on("open", () => send("queryNetwork/tip", undefined, "tip"))
ws.on("message", (data: Buffer) => {
  const frame = JSON.parse(data.toString()) as { id?: string | null; result: Record<string, unknown> & { block?: { height: number } } }
  if (frame.id === "tip") {
    send("findIntersection", { points: [frame.result] }, "intersect")
    return
  }
  if (frame.id === "intersect") {
    for (let i = 0; i < 100; i++) send("nextBlock")
    process.stdout.write("following\n")
    return
  }
  if (frame.result["direction"] === "forward") {
    void redis.xadd(`${prefix}events`, "*", "type", "apply", "height", String(frame.result.block!.height), "block", data)
  }
  send("nextBlock")
})
ws.on("error", (e) => {
  process.stderr.write(`relayBare: ${e.message}\n`)
  process.exit(1)
})
process.on("SIGTERM", () => {
  ws.close()
  redis.disconnect()
  process.exit(0)
})
