/**
 * The run history as `hecate runs` prints it: a table of runs (newest first), and one run in full
 * — its parameters, state, start / end, blocks, error, its epochs and its log — as text or JSON.
 */
import type { RunEpoch, RunLogEntry, RunRecord } from "./runs.js"
import { shownState } from "./runs.js"

/** How long a run took (so far, while it runs). */
export const runDuration = (r: RunRecord): string => {
  const end = r.endedAt === undefined ? Date.now() : Date.parse(r.endedAt)
  const s = Math.max(0, Math.round((end - Date.parse(r.startedAt)) / 1000))
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`
}

/** The runs as aligned columns. */
export const runTable = (runs: ReadonlyArray<RunRecord>): string => {
  const rows = runs.map((r) => [r.id, r.command, r.prefix ?? "-", shownState(r), r.startedAt.replace("T", " ").slice(0, 19), runDuration(r), String(r.blocks), r.error ?? ""])
  const head = ["ID", "COMMAND", "PREFIX", "STATE", "STARTED (UTC)", "TOOK", "BLOCKS", "ERROR"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)].join("\n")
}


/** One run's log as read back: its newest lines and how many there were in all. */
export interface RunLogView {
  readonly entries: ReadonlyArray<RunLogEntry>
  readonly total: number
}

/** One run as JSON (`runs show ID --json`). */
export const runJson = (record: RunRecord, timeline: ReadonlyArray<RunEpoch>, log: RunLogView): string =>
  JSON.stringify({ ...record, shownState: shownState(record), timeline, log: log.entries, logDropped: log.total - log.entries.length })

/** One run as text (`runs show ID`): its fields, its epochs (the unremarkable ones left out of a long run) and its log. */
export const runDetail = (record: RunRecord, timeline: ReadonlyArray<RunEpoch>, log: RunLogView): string => {
  const lines: Array<string> = []
  const rows: Array<[string, string]> = [
    ["id", record.id],
    ["command", record.command],
    ["prefix", record.prefix ?? "-"],
    ["state", shownState(record)],
    ["started", record.startedAt],
    ["ended", record.endedAt ?? "-"],
    ["took", runDuration(record)],
    ["blocks", String(record.blocks)],
    ["error", record.error ?? "-"],
    ["host / pid", `${record.host} / ${record.pid}`],
    ["heartbeat", record.heartbeatAt ?? "-"],
    ["parameters", JSON.stringify(record.parameters)]
  ]
  lines.push(rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join("\n"))
  if (timeline.length > 0) {
    const failed = timeline.filter((e) => e.state === "failed")
    const took = (e: RunEpoch) => (e.end === undefined ? "…" : `${((e.end - e.start) / 1000).toFixed(1)}s`)
    lines.push(`\nepochs      ${timeline.length} (${timeline.filter((e) => e.state === "committed").length} committed, ${failed.length} failed)`)
    for (const e of timeline) {
      if (timeline.length > 20 && e.state === "committed" && e.attempts === 1) continue
      lines.push(`  epoch ${e.epoch}: ${e.state}${e.attempts > 1 ? `, ${e.attempts} attempts` : ""}${e.blocks === undefined ? "" : `, ${e.blocks} blocks`}, ${took(e)}${e.error === undefined ? "" : ` — ${e.error}`}`)
    }
  }
  const dropped = log.total - log.entries.length
  lines.push(`\nlog (${log.entries.length} lines${dropped > 0 ? `, ${dropped} older dropped` : ""})`)
  for (const l of log.entries) lines.push(`  ${l.at.replace("T", " ").slice(0, 23)} ${l.level.padEnd(5)} [${l.process}] ${l.message}`)
  return lines.join("\n")
}
