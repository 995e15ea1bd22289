// The progress reporter: the TTY bar (epochs done/total, blocks/s, ETA) and the non-TTY log lines.
import { describe, expect, it, vi } from "vitest"
import { makeTerminal } from "../../src/cli/terminal.js"
import { formatDuration, makeProgressReporter, renderBar, renderLine } from "../../src/observability/progress.js"

describe("backfill progress", () => {
  it("draws a bar on a TTY: epochs done/total, blocks/s, ETA, done at the end", () => {
    let t = 0
    const terminal = makeTerminal((s) => (out += s))
    let out = ""
    const lines: Array<string> = []
    const p = makeProgressReporter({ tty: true, status: terminal.status, endStatus: terminal.endStatus, log: (l) => lines.push(l), now: () => t })
    p.onEvent({ _tag: "Planned", start: 10, target: 13, epochs: 4, blocks: 400 })
    t = 1000
    p.onEvent({ _tag: "EpochBatch", epoch: 10, blocks: 100 })
    p.onEvent({ _tag: "EpochSynced", epoch: 10, blocks: 100, bytes: 1 })
    expect(out.split("\r\x1b[K").at(-1)).toBe("backfill ██████░░░░░░░░░░░░░░░░░░ 1/4 epochs · 100 blocks/s · ETA 0:03")
    // a log line clears the bar, and the bar is redrawn below it
    terminal.line("INFO epoch 10 synced")
    expect(out.endsWith("\r\x1b[KINFO epoch 10 synced\nbackfill ██████░░░░░░░░░░░░░░░░░░ 1/4 epochs · 100 blocks/s · ETA 0:03")).toBe(true)
    t = 2000
    p.onEvent({ _tag: "EpochBatch", epoch: 11, blocks: 300 })
    for (const epoch of [11, 12, 13]) p.onEvent({ _tag: "EpochSynced", epoch, blocks: 100, bytes: 1 })
    // the last epoch ends the bar: it stays on screen, and later lines go below it untouched
    expect(out.endsWith("\n")).toBe(true)
    expect(out.trimEnd().split("\r\x1b[K").at(-1)).toBe("backfill ████████████████████████ 4/4 epochs · 200 blocks/s · done")
    const before = out
    terminal.line("Relayed epochs up to 13")
    p.stop()
    expect(out).toBe(`${before}Relayed epochs up to 13\n`)
    expect(lines).toEqual([])
  })

  it("degrades to log lines when not a TTY", () => {
    const lines: Array<string> = []
    let out = ""
    const p = makeProgressReporter({ tty: false, status: (s) => (out += s), endStatus: () => (out += "\n"), log: (l) => lines.push(l), now: () => 0 })
    p.onEvent({ _tag: "Planned", start: 0, target: 1, epochs: 2, blocks: 10 })
    p.onEvent({ _tag: "EpochBatch", epoch: 0, blocks: 5 })
    p.stop()
    // a run shorter than the interval printed no line: its summary says it all
    expect(lines).toEqual([])
    expect(out).toBe("")
    expect(renderLine({ epochsDone: 1, epochsTotal: 2, blocksDone: 5, blocksTotal: 10, blocksPerSecond: 2.5, failed: 0 }))
      .toBe("progress: 1/2 epochs, 5/10 blocks (50%), 3 blocks/s, ETA 0:02")
    expect(renderBar({ epochsDone: 0, epochsTotal: 2, blocksDone: 0, blocksTotal: 10, blocksPerSecond: 0, failed: 1 }, 4)).toBe("backfill ░░░░ 0/2 epochs · 0 blocks/s · ETA ? · 1 failed")
    expect(formatDuration(3725)).toBe("1:02:05")
  })

  it("a run paused by backpressure says so instead of 0 blocks/s and ETA ?, until the next batch moves it", () => {
    vi.useFakeTimers()
    try {
      const lines: Array<string> = []
      const bars: Array<string> = []
      const p = makeProgressReporter({ tty: false, status: () => {}, endStatus: () => {}, log: (l) => lines.push(l), intervalMs: 1000, now: () => 0 })
      const bar = makeProgressReporter({ tty: true, status: (b) => bars.push(b), endStatus: () => {}, log: () => {}, now: () => 0 })
      for (const r of [p, bar]) {
        r.onEvent({ _tag: "Planned", start: 0, target: 2, epochs: 3, blocks: 30 })
        r.onEvent({ _tag: "EpochBatch", epoch: 0, blocks: 10 })
        r.onEvent({ _tag: "BackpressurePaused", lag: 5 })
      }
      vi.advanceTimersByTime(1000)
      expect(lines.at(-1)).toBe("progress: 0/3 epochs, 10/30 blocks (33%), 0 blocks/s, paused: consumers have not read 5 published epoch(s) (REDIS_MAX_UNCONSUMED_EPOCHS)")
      expect(bars.at(-1)).toContain("· paused: consumers have not read 5 published epoch(s)")
      p.onEvent({ _tag: "EpochBatch", epoch: 1, blocks: 10 })
      vi.advanceTimersByTime(1000)
      expect(lines.at(-1)).toBe("progress: 0/3 epochs, 20/30 blocks (66%), 0 blocks/s, ETA ?")
      p.stop()
      bar.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it("not a TTY: a line every interval, and a last one when the last epoch is done", () => {
    vi.useFakeTimers()
    try {
      const lines: Array<string> = []
      const p = makeProgressReporter({ tty: false, status: () => {}, endStatus: () => {}, log: (l) => lines.push(l), intervalMs: 1000, now: () => 0 })
      p.onEvent({ _tag: "Planned", start: 0, target: 1, epochs: 2, blocks: 10 })
      p.onEvent({ _tag: "EpochBatch", epoch: 0, blocks: 5 })
      vi.advanceTimersByTime(2500)
      expect(lines).toEqual(Array(2).fill("progress: 0/2 epochs, 5/10 blocks (50%), 0 blocks/s, ETA ?"))
      p.onEvent({ _tag: "EpochSynced", epoch: 0, blocks: 5, bytes: 1 })
      p.onEvent({ _tag: "EpochBatch", epoch: 1, blocks: 5 })
      p.onEvent({ _tag: "EpochSynced", epoch: 1, blocks: 5, bytes: 1 })
      expect(lines.at(-1)).toBe("progress: 2/2 epochs, 10/10 blocks (100%), 0 blocks/s, ETA 0:00")
      vi.advanceTimersByTime(5000)
      p.stop()
      expect(lines).toHaveLength(3)
    } finally {
      vi.useRealTimers()
    }
  })
})
