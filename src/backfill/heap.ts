/**
 * V8 heap growth for the backfill. Relaying 50–90 MB/s of block JSON, the live heap after a full
 * collection stays at ~50 MB, but V8 sizes the old generation by how fast the program allocates:
 * it let the heap reach ~3.5x the live set (150–190 MB) between full collections, and the RSS with
 * it. A growth factor of 1.25 keeps it near the live set (full collections every second or two
 * instead of every few seconds, on a heap that is mostly garbage and cheap to mark). V8 reads the
 * factor at every collection, so setting it when the run starts takes effect at the next one; a
 * `--heap-growing-percent` given to node itself wins.
 */
import { setFlagsFromString } from "node:v8"

export const BACKFILL_HEAP_GROWING_PERCENT = 25

let tuned = false

export const tuneHeapForBackfill = (): void => {
  if (tuned) return
  tuned = true
  if (process.execArgv.some((a) => a.startsWith("--heap-growing-percent"))) return
  setFlagsFromString(`--heap-growing-percent=${BACKFILL_HEAP_GROWING_PERCENT}`)
}
