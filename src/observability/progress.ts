/**
 * Backfill progress: on a terminal a bar on stderr, redrawn at most 10 times a second
 * (`backfill ████████░░░░ 5/8 epochs · 1,234 blocks/s · ETA 0:12`) as the terminal's status line,
 * below the log lines; left on screen when the last epoch is done. Elsewhere a log line every
 * `intervalMs` (HECATE_PROGRESS_INTERVAL_MS, default 10 s), and a last one at the end if the run was
 * long enough to print any (a short run's summary says it all).
 */
import type { BackfillProgress } from "../backfill/backfill.js"

export interface ProgressSnapshot {
  readonly epochsDone: number
  readonly epochsTotal: number
  readonly blocksDone: number
  readonly blocksTotal: number
  readonly blocksPerSecond: number
  readonly failed: number
  /**
   * Set while the run waits for its consumers (backpressure): the unconsumed epochs it saw. Its
   * rate then reads 0 and its ETA "?" for a reason the line says, not for a stall.
   */
  readonly paused?: { readonly unconsumedEpochs: number }
}

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`
}

export const eta = (p: ProgressSnapshot): number => {
  const left = Math.max(0, p.blocksTotal - p.blocksDone)
  return left === 0 ? 0 : p.blocksPerSecond > 0 ? left / p.blocksPerSecond : Number.POSITIVE_INFINITY
}

/** What a paused run waits for, in the words of the setting that paused it. */
const pausedText = (paused: { readonly unconsumedEpochs: number }): string =>
  `paused: consumers have not read ${paused.unconsumedEpochs} published epoch(s) (REDIS_MAX_UNCONSUMED_EPOCHS)`

/** The bar line (no control characters). */
export const renderBar = (p: ProgressSnapshot, width = 24): string => {
  const fraction = p.blocksTotal > 0 ? Math.min(1, p.blocksDone / p.blocksTotal) : p.epochsTotal > 0 ? p.epochsDone / p.epochsTotal : 0
  const filled = Math.round(fraction * width)
  const bar = "█".repeat(filled) + "░".repeat(width - filled)
  const done = p.epochsDone >= p.epochsTotal && p.epochsTotal > 0
  return `backfill ${bar} ${p.epochsDone}/${p.epochsTotal} epochs · ${Math.round(p.blocksPerSecond).toLocaleString("en-US")} blocks/s · ` +
    (done ? "done" : p.paused !== undefined ? pausedText(p.paused) : `ETA ${formatDuration(eta(p))}`) + (p.failed > 0 ? ` · ${p.failed} failed` : "")
}

/** The log line of the non-TTY mode. */
export const renderLine = (p: ProgressSnapshot): string =>
  `progress: ${p.epochsDone}/${p.epochsTotal} epochs, ${p.blocksDone}/${p.blocksTotal} blocks (${
    p.blocksTotal > 0 ? Math.floor((p.blocksDone / p.blocksTotal) * 100) : 0
  }%), ${Math.round(p.blocksPerSecond)} blocks/s, ${p.paused !== undefined ? pausedText(p.paused) : `ETA ${formatDuration(eta(p))}`}`

export interface ProgressReporterOptions {
  readonly tty: boolean
  /** shows the bar as the terminal's status line (TTY) */
  readonly status: (bar: string) => void
  /** leaves the bar on screen and stops redrawing it (TTY) */
  readonly endStatus: () => void
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
  // the backpressure pause, until the next batch shows the run moving again
  let paused: { readonly unconsumedEpochs: number } | undefined
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
  const snapshot = (): ProgressSnapshot => ({
    epochsDone,
    epochsTotal,
    blocksDone,
    blocksTotal,
    blocksPerSecond: rate(),
    failed,
    ...(paused === undefined ? {} : { paused })
  })
  let ended = false
  let linesLogged = 0
  const draw = (force = false) => {
    if (!options.tty || !planned || ended) return
    const t = now()
    if (!force && t - lastDraw < 100) return
    lastDraw = t
    options.status(renderBar(snapshot()))
  }
  /** the last bar (TTY) or line (otherwise), once */
  const end = () => {
    if (!planned || ended) return
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    if (options.tty) {
      draw(true)
      options.endStatus()
    } else if (linesLogged > 0) options.log(renderLine(snapshot()))
    ended = true
  }

  return {
    onEvent: (event) => {
      switch (event._tag) {
        case "Planned":
          planned = true
          ended = false
          epochsTotal = event.epochs
          blocksTotal = event.blocks
          paused = undefined
          samples.length = 0
          rate()
          if (!options.tty) {
            timer = setInterval(() => {
              linesLogged++
              options.log(renderLine(snapshot()))
            }, options.intervalMs ?? 10_000)
            timer.unref()
          }
          draw(true)
          return
        case "EpochBatch":
          blocksDone += event.blocks
          paused = undefined
          draw()
          return
        case "BackpressurePaused":
          paused = { unconsumedEpochs: event.lag }
          draw(true)
          return
        case "EpochRetry":
          draw()
          return
        case "EpochSynced":
          epochsDone++
          draw(true)
          // done: the last bar / line comes now, before the run's summary
          if (epochsDone >= epochsTotal) end()
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
      end()
      planned = false
    }
  }
}
