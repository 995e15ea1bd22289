// The progress reporter: the TTY bar (epochs done/total, blocks/s, ETA) and the non-TTY log lines.
import { describe, expect, it } from "vitest"
import { formatDuration, makeProgressReporter, renderBar, renderLine } from "../../src/observability/progress.js"

describe("backfill progress", () => {
  it("draws a bar on a TTY: epochs done/total, blocks/s, ETA, done at the end", () => {
    let t = 0
    let out = ""
    const lines: Array<string> = []
    const p = makeProgressReporter({ tty: true, write: (s) => (out += s), log: (l) => lines.push(l), now: () => t })
    p.onEvent({ _tag: "Planned", start: 10, target: 13, epochs: 4, blocks: 400 })
    t = 1000
    p.onEvent({ _tag: "EpochBatch", epoch: 10, blocks: 100 })
    p.onEvent({ _tag: "EpochSynced", epoch: 10, blocks: 100, bytes: 1 })
    expect(out.split("\r\x1b[K").at(-1)).toBe("backfill ██████░░░░░░░░░░░░░░░░░░ 1/4 epochs · 100 blocks/s · ETA 0:03")
    t = 2000
    p.onEvent({ _tag: "EpochBatch", epoch: 11, blocks: 300 })
    for (const epoch of [11, 12, 13]) p.onEvent({ _tag: "EpochSynced", epoch, blocks: 100, bytes: 1 })
    p.stop()
    expect(out.endsWith("\n")).toBe(true)
    expect(out.trimEnd().split("\r\x1b[K").at(-1)).toBe("backfill ████████████████████████ 4/4 epochs · 200 blocks/s · done")
    expect(lines).toEqual([])
  })

  it("degrades to log lines when not a TTY", () => {
    const lines: Array<string> = []
    let out = ""
    const p = makeProgressReporter({ tty: false, write: (s) => (out += s), log: (l) => lines.push(l), now: () => 0 })
    p.onEvent({ _tag: "Planned", start: 0, target: 1, epochs: 2, blocks: 10 })
    p.onEvent({ _tag: "EpochBatch", epoch: 0, blocks: 5 })
    p.stop()
    expect(out).toBe("")
    expect(lines).toEqual(["progress: 0/2 epochs, 5/10 blocks (50%), 0 blocks/s, ETA ?"])
    expect(renderLine({ epochsDone: 1, epochsTotal: 2, blocksDone: 5, blocksTotal: 10, blocksPerSecond: 2.5, failed: 0 }))
      .toBe("progress: 1/2 epochs, 5/10 blocks (50%), 3 blocks/s, ETA 0:02")
    expect(renderBar({ epochsDone: 0, epochsTotal: 2, blocksDone: 0, blocksTotal: 10, blocksPerSecond: 0, failed: 1 }, 4)).toBe("backfill ░░░░ 0/2 epochs · 0 blocks/s · ETA ? · 1 failed")
    expect(formatDuration(3725)).toBe("1:02:05")
  })
})
