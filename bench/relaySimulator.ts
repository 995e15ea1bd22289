/**
 * Bench child for bench/relay.ts: the chain simulator (src/simulator) in its own process, as the
 * node/Ogmios is in a deployment, so its block generation and GC stay out of the relay's and the
 * consumer's processes.
 *
 *   node relaySimulator.js [meanBlockBytes] [intervalMs] [count]
 *
 * Prints `url <ws-url>` and `tip <height>` once listening. With intervalMs (and count, default
 * unbounded) it forges blocks on its own steady interval; otherwise it waits for commands on stdin,
 * one per line:
 *
 *   forge [n]                 forge n blocks (default 1) now
 *   run <count> <intervalMs>  forge count blocks, one every intervalMs (drift-corrected), then `done`
 *   quit                      stop the server and exit (so does closing stdin)
 *
 * Every block printed as `forged <height> <wall-ms>`, wall-ms = performance.timeOrigin +
 * performance.now() taken just before `sim.forge(1)`, comparable across processes on one host, and
 * as `sent <height> <wall-ms>` once the server handed its frame to the relay's socket (the server
 * sends on the next turn of the event loop; a node serves a block it already holds, so the time
 * the simulator spends generating one is not the relay's).
 */
import { createInterface } from "node:readline"
import { startSimulator } from "../src/simulator/index.js"

const [bytesArg, intervalArg, countArg] = process.argv.slice(2).map(Number)
const meanBlockBytes = bytesArg && bytesArg > 0 ? bytesArg : 16_384

const sim = await startSimulator({ port: 0, seed: "bench-relay", initialBlocks: 20, securityParameter: 100, meanBlockBytes })
const out = (line: string) => process.stdout.write(`${line}\n`)
const wallMs = () => performance.timeOrigin + performance.now()
const height = () => sim.chain.heightOf(sim.chain.tipIndex)

const forgeOne = () => {
  const t0 = wallMs()
  const served = sim.stats().blocksServed
  sim.forge(1)
  const h = height()
  out(`forged ${h} ${t0.toFixed(3)}`)
  // queued behind the server's own send of the new block (also a setImmediate)
  setImmediate(() => {
    if (sim.stats().blocksServed > served) out(`sent ${h} ${wallMs().toFixed(3)}`)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let stopping = false
const run = async (count: number, intervalMs: number) => {
  let next = performance.now()
  for (let i = 0; i < count && !stopping; i++) {
    next += intervalMs
    const wait = next - performance.now()
    if (wait > 0) await sleep(wait)
    forgeOne()
  }
  out("done")
}

const stop = async () => {
  if (stopping) return
  stopping = true
  await sim.stop()
  process.exit(0)
}
process.on("SIGTERM", () => void stop())
process.on("SIGINT", () => void stop())

out(`url ${sim.url}`)
out(`tip ${height()}`)

if (intervalArg && intervalArg > 0) {
  void run(countArg && countArg > 0 ? countArg : Number.POSITIVE_INFINITY, intervalArg).then(stop)
} else {
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => {
    const [cmd, a, b] = line.trim().split(/\s+/)
    if (cmd === "forge") for (let i = 0, n = Number(a ?? 1) || 1; i < n; i++) forgeOne()
    else if (cmd === "run") void run(Number(a), Number(b))
    else if (cmd === "quit") void stop()
    else if (cmd) process.stderr.write(`relaySimulator: unknown command ${JSON.stringify(line)}\n`)
  })
  lines.on("close", () => void stop())
}
