/**
 * Bench child for bench/relayCatchup.ts: the library's relay (`relay({ from: "origin" })` over the
 * live Ogmios source and the Redis relay store, as the relay command composes it) catching up a
 * chain of `target + 1` blocks, with at most `maxBatchOps` ops per write (1 = one chain-sync
 * message per write, the relay before it grouped messages). Timed from its first committed write
 * to the write that applies height `target`; prints one JSON line and exits.
 *
 *   node relayCatchupChild.js <url> <redisUrl> <prefix> <target> <maxBatchOps>
 */
import { Effect, Layer, Redacted } from "effect"
import { OgmiosLive } from "../src/layers/OgmiosLive.js"
import { RedisLive } from "../src/layers/RedisLive.js"
import { relay } from "../src/relay/relay.js"
import { RelayStore } from "../src/relay/RelayStore.js"
import { ogmiosRelaySource } from "../src/relay/source.js"

const [url, redisUrl, prefix, targetArg, batchArg] = process.argv.slice(2)
const target = Number(targetArg)
const maxBatchOps = Number(batchArg)
let first = 0
let writes = 0
let messages = 0

let reached!: () => void
const caughtUp = new Promise<void>((resolve) => (reached = resolve))
const started = performance.now()
const fiber = Effect.runFork(
  relay({
    source: ogmiosRelaySource({ endpoints: [url!] }),
    from: "origin",
    maxBatchOps,
    onWrite: ({ events }) => {
      if (first === 0) first = performance.now()
      writes++
      for (const e of events) {
        if (e._tag === "Final") continue
        messages++
        if (e._tag === "Apply" && e.block.height >= target) reached()
      }
    }
  }).pipe(
    Effect.provide(Layer.mergeAll(
      OgmiosLive.layer({ endpoints: [url!] }),
      RelayStore.layer({ prefix: prefix! }).pipe(Layer.provide(RedisLive.layer({ url: Redacted.make(redisUrl!), connectionName: "hecate-bench-catchup" })))
    ))
  )
)
// a relay that stops on its own (a fatal error) ends the bench with its cause
fiber.addObserver((exit) => {
  process.stderr.write(`relay stopped before the target: ${String(exit)}\n`)
  process.exit(1)
})
await caughtUp
const seconds = (performance.now() - first) / 1000
process.stdout.write(`${JSON.stringify({ seconds, startupSeconds: (first - started) / 1000, writes, messages })}\n`)
process.exit(0)
