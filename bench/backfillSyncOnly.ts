/**
 * Bench child for bench/backfill.ts: the chain-sync-only pass. The same epoch sessions as the
 * backfill (src/backfill/epoch-sync.ts `syncEpoch`, one OgmiosLive layer per epoch, the same
 * verification), `concurrency` epochs at a time, but the blocks go nowhere: the rate Redis writing
 * is compared with.
 *
 *   node backfillSyncOnly.js <url> <concurrency> <rowsJsonFile> [inFlight] [batchSize]
 *     -> prints {"blocks","seconds","maxRssMb"}
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import type { EpochRow } from "../src/backfill/epoch-index-data.js"
import { syncEpoch } from "../src/backfill/epoch-sync.js"
import { OgmiosLive } from "../src/layers/OgmiosLive.js"

const [url, concurrencyArg, rowsFile, inFlightArg, batchArg] = process.argv.slice(2)
const rows = JSON.parse(readFileSync(rowsFile!, "utf8")) as Array<EpochRow>
const concurrency = Number(concurrencyArg ?? 1)
const inFlight = Number(inFlightArg ?? 100)
const batchSize = Number(batchArg ?? 500)
const layer = OgmiosLive.layer({ endpoints: [url!], requestTimeout: 30_000, reconnect: { maxAttempts: 3, maxDelay: 2_000 } })

/** Epoch 0 of a chain that starts at genesis intersects at origin (as in the orchestrator). */
const ORIGIN = { endSlot: -1, endHash: "genesis", endHeight: -1 }

const started = performance.now()
const counts = await Effect.runPromise(
  Effect.forEach(
    rows,
    (row, i) =>
      syncEpoch({ epoch: row.epoch, anchor: i === 0 ? ORIGIN : rows[i - 1]!, expected: row, batchSize, inFlight }, () => Effect.void).pipe(
        Effect.provide(layer),
        Effect.map((r) => r.blocks)
      ),
    { concurrency }
  )
)
const seconds = (performance.now() - started) / 1000
process.stdout.write(`${JSON.stringify({ blocks: counts.reduce((a, b) => a + b, 0), seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`)
process.exit(0)
