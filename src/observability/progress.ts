/**
 * Backfill progress: on a terminal a bar on stderr, redrawn at most 10 times a second
 * (`backfill ████████░░░░ 5/8 epochs · 1,234 blocks/s · ETA 0:12`); elsewhere a log line every
 * `intervalMs` (HECATE_PROGRESS_INTERVAL_MS, default 10 s) and one at the end.
 */
import type { BackfillProgress } from "../backfill/backfill.js"

export interface ProgressSnapshot {
  readonly epochsDone: number
  readonly epochsTotal: number
  readonly blocksDone: number
  readonly blocksTotal: number
  readonly blocksPerSecond: number
  readonly failed: number
}

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`
}

export const eta = (p: ProgressSnapshot): number =>
  p.blocksPerSecond > 0 ? Math.max(0, p.blocksTotal - p.blocksDone) / p.blocksPerSecond : Number.POSITIVE_INFINITY

/** The bar line (no control characters). */
export const renderBar = (p: ProgressSnapshot, width = 24): string => {
  const fraction = p.blocksTotal > 0 ? Math.min(1, p.blocksDone / p.blocksTotal) : p.epochsTotal > 0 ? p.epochsDone / p.epochsTotal : 0
  const filled = Math.round(fraction * width)
  const bar = "█".repeat(filled) + "░".repeat(width - filled)
  const done = p.epochsDone >= p.epochsTotal && p.epochsTotal > 0
  return `backfill ${bar} ${p.epochsDone}/${p.epochsTotal} epochs · ${Math.round(p.blocksPerSecond).toLocaleString("en-US")} blocks/s · ` +
    (done ? "done" : `ETA ${formatDuration(eta(p))}`) + (p.failed > 0 ? ` · ${p.failed} failed` : "")
}

/** The log line of the non-TTY mode. */
export const renderLine = (p: ProgressSnapshot): string =>
  `progress: ${p.epochsDone}/${p.epochsTotal} epochs, ${p.blocksDone}/${p.blocksTotal} blocks (${
    p.blocksTotal > 0 ? Math.floor((p.blocksDone / p.blocksTotal) * 100) : 0
  }%), ${Math.round(p.blocksPerSecond)} blocks/s, ETA ${formatDuration(eta(p))}`

export interface ProgressReporterOptions {
  readonly tty: boolean
  /** raw output for the bar (stderr) */
  readonly write: (text: string) => void
  /** a log line (non-TTY) */
  readonly log: (line: string) => void
  readonly intervalMs?: number
  readonly now?: () => number
}

export interface ProgressReporter {
  readonly onEvent: (event: BackfillProgress) => void
  readonly snapshot: () => ProgressSnapshot
  /** final redraw / line, stops the timer */
  readonly stop: () => void
}

export const makeProgressReporter = (options: ProgressReporterOptions): ProgressReporter => {
  const now = options.now ?? (() => performance.now())
  let epochsTotal = 0
  let blocksTotal = 0
  let epochsDone = 0
  let blocksDone = 0
  let failed = 0
  let planned = false
  const samples: Array<{ t: number; blocks: number }> = []
  let lastDraw = 0
  let timer: NodeJS.Timeout | undefined

  const rate = (): number => {
    const t = now()
    samples.push({ t, blocks: blocksDone })
    while (samples.length > 2 && t - samples[0]!.t > 10_000) samples.shift()
    const first = samples[0]!
    return t > first.t ? ((blocksDone - first.blocks) * 1000) / (t - first.t) : 0
  }
  const snapshot = (): ProgressSnapshot => ({ epochsDone, epochsTotal, blocksDone, blocksTotal, blocksPerSecond: rate(), failed })
  const draw = (force = false) => {
    if (!options.tty || !planned) return
    const t = now()
    if (!force && t - lastDraw < 100) return
    lastDraw = t
    options.write(`\r\x1b[K${renderBar(snapshot())}`)
  }

  return {
    onEvent: (event) => {
      switch (event._tag) {
        case "Planned":
          planned = true
          epochsTotal = event.epochs
          blocksTotal = event.blocks
          samples.length = 0
          rate()
          if (!options.tty) {
            timer = setInterval(() => options.log(renderLine(snapshot())), options.intervalMs ?? 10_000)
            timer.unref()
          }
          draw(true)
          return
        case "EpochBatch":
          blocksDone += event.blocks
          draw()
          return
        case "EpochRetry":
          draw()
          return
        case "EpochSynced":
          epochsDone++
          draw(true)
          return
        case "EpochFailed":
          failed++
          draw(true)
          return
        default:
          return
      }
    },
    snapshot,
    stop: () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      if (!planned) return
      if (options.tty) {
        draw(true)
        options.write("\n")
      } else options.log(renderLine(snapshot()))
      planned = false
    }
  }
}
