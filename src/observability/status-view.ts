/**
 * `hecate status` as text: the epoch-stream namespace's progress (the Python Hecate's table),
 * backpressure, every consumer group with its lag and what it holds back, the relay's state and
 * distance to the tip, Redis, and the latest runs.
 */
import type { EpochStoreStatus } from "../backfill/store/EpochStore.js"
import { type GroupInfo, type Overview, type RelayOverview } from "./overview.js"
import { type RunRecord, settle } from "./runs.js"

const n = (v: number | undefined | null): string => (v === undefined || v === null ? "—" : v.toLocaleString("en-US"))
const hhmmss = (iso: string | undefined): string => (iso === undefined ? "?" : iso.replace("T", " ").slice(0, 19))

/** Rows as aligned columns (the last one unpadded). */
const columns = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)]
}

/** An error as one short line (the full text is in `runs show ID`). */
const oneLine = (s: string, max = 100): string => {
  const flat = s.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** Seconds (or minutes) between an instant and now. */
const agoText = (iso: string): string => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`
}

/** The relay's state line: a dead relay reads "not running", never its last state. */
export const relayState = (r: RelayOverview): string =>
  r.state === "not running"
    ? `not running (last seen ${r.lastSeen === undefined ? "?" : `${hhmmss(r.lastSeen)}, ${agoText(r.lastSeen)}`}${r.lastState === undefined ? "" : `, was ${r.lastState}`})`
    : `${r.state ?? "no status"}${r.since === undefined ? "" : ` since ${hhmmss(r.since)}`}`

/** How far the relay is from the node's tip, or why that is unknown. */
export const tipText = (r: RelayOverview): string =>
  r.state === "waiting for the node"
    ? `the node is behind the relay (node tip height ${n(r.nodeTipHeight)}, cursor at height ${n(r.height)}): waiting for it to catch up`
    : r.tipDistance === undefined
    ? "tip unknown"
    : `${n(r.tipDistance)} blocks behind the tip`

const behind = (g: GroupInfo) => g.pending > 0 || (g.lag ?? 0) > 0

/** The consumer-group table of an overview (epoch streams, then events / final). */
export const groupRows = (o: Overview): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  const e = o.epochs
  if (e !== undefined) {
    for (const g of e.groups) {
      const span = g.behind.length === 0 ? "none" : `${g.behind.length} (${g.behind[0]}${g.behind.length > 1 ? `–${g.behind.at(-1)}` : ""})`
      const holds = g.behind.length === 0 ? "nothing" : `epoch ${g.behind[0]}${e.backpressure.paused ? ": backfill paused" : ""}`
      rows.push([`${e.prefix}epoch:*`, g.name, n(g.lag), n(g.pending), span, holds])
    }
  }
  const r = o.relay
  if (r !== undefined) {
    for (const s of r.streams) {
      for (const g of s.groups) {
        rows.push([`${r.prefix}${s.stream}`, g.name, n(g.lag), n(g.pending), "", behind(g) && r.state === "paused" ? `the relay: paused since ${hhmmss(r.since)}` : "nothing"])
      }
    }
  }
  return rows
}

export interface StatusView {
  readonly prefix: string
  readonly status: EpochStoreStatus
  readonly overview: Overview
  /** the relay has a status or wrote something: its line is shown */
  readonly relayUsed: boolean
  readonly runs: ReadonlyArray<RunRecord>
  readonly maxUnconsumedEpochs: number
}

/** The status report, as lines of text. */
export const statusText = ({ prefix, status, overview, relayUsed, runs, maxUnconsumedEpochs }: StatusView): string => {
  const lines: Array<string> = []
  const rows = Object.entries(status)
    .filter(([key]) => key !== "ordering_consistent")
    .map(([key, value]) => [key.replaceAll("_", " "), value === null ? "—" : String(value)] as const)
  const width = Math.max(...rows.map(([k]) => k.length), "Metric".length)
  lines.push(`Hecate — ${prefix}`)
  lines.push(`${"Metric".padEnd(width)}  Value`)
  for (const [k, v] of rows) lines.push(`${k.padEnd(width)}  ${v}`)
  if (status.last_synced_epoch === null) lines.push("Nothing relayed here yet.")
  if (!status.ordering_consistent) {
    lines.push(
      `Inconsistent: low_watermark ${status.low_watermark} is above last_synced_epoch + 1 (${status.last_synced_epoch}).`
    )
  }
  const e = overview.epochs
  if (e !== undefined) {
    const inFlight = Object.keys(e.inFlight)
    lines.push(
      `\nBackfill: ${e.backpressure.paused ? `PAUSED on slow consumers since ${hhmmss(e.backpressure.since)}` : "not paused"}; ` +
        `${n(e.unconsumed)} unconsumed (pauses at ${maxUnconsumedEpochs}); ` +
        `${e.streams.length} epoch stream(s) kept${inFlight.length > 0 ? `; in flight: ${inFlight.join(", ")}` : ""}${e.ready.length > 0 ? `; synced, waiting: ${e.ready.join(", ")}` : ""}`
    )
  }
  const r = overview.relay
  if (r !== undefined && relayUsed) {
    lines.push(
      `Relay ${r.prefix} — ${relayState(r)}${r.endpoint === undefined ? "" : ` (${r.endpoint})`}; ` +
        `height ${n(r.height)}, ${tipText(r)}; ` +
        `events ${n(r.streams[0]?.length)}, final ${n(r.streams[1]?.length)}; reconnects ${n(r.counters["reconnects"] ?? 0)}` +
        (r.lastReconnectCause === undefined ? "" : ` (last: ${r.lastReconnectCause})`)
    )
  }
  const groups = groupRows(overview)
  lines.push("\nConsumer groups")
  if (groups.length === 0) lines.push("  no consumer groups (none registered on these streams)")
  else for (const line of columns(["STREAMS", "GROUP", "LAG", "PENDING", "UNFINISHED EPOCHS", "HOLDS BACK"], groups)) lines.push(`  ${line}`)
  const rd = overview.redis
  lines.push(
    `\nRedis: ${rd.reachable ? `up, ${rd.version ?? "?"}, ping ${rd.pingMs ?? "?"} ms, ${rd.usedMemory ?? "?"} used, ${rd.clients ?? "?"} clients` : `unreachable (${rd.error ?? "?"})`}`
  )
  if (runs.length > 0) {
    lines.push("\nLatest runs (hecate runs show ID for one)")
    const shown = runs.map((run) => settle(run))
    for (const line of columns(["ID", "COMMAND", "PREFIX", "STATE", "STARTED (UTC)", "ERROR"], shown.map((x) => [x.id, x.command, x.prefix ?? "-", x.state, hhmmss(x.startedAt), oneLine(x.error ?? "")]))) {
      lines.push(`  ${line}`)
    }
  }
  return lines.join("\n")
}
