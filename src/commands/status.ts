/**
 * `hecate status`: a read-only report, in the terminal, of what the dashboard shows: the
 * epoch-stream namespace's progress (the Python Hecate's table), backpressure, every consumer group of
 * the epoch streams and of the relay's `events` / `final` with its lag and what it holds back, the
 * relay's state and distance to the tip, Redis, and the latest runs. `--json` prints the same as
 * one object (the Python Hecate's fields at the top level, as before).
 */
import { Console, Effect, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { runCommand } from "../cli/command.js"
import { configFlag } from "../config/flags.js"
import { HecateConfig } from "../services/HecateConfig.js"
import { RedisLive } from "../layers/RedisLive.js"
import { type GroupInfo, type Overview, readOverview, type RelayOverview } from "../observability/overview.js"
import { makeRunHistory, type RunRecord, settle } from "../observability/runs.js"
import { Redis } from "../services/Redis.js"

const flags = {
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Key prefix (default hecate:history:)"), Flag.optional),
  relayPrefix: Flag.String("relay-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print the status as JSON"), Flag.withDefault(false)),
  config: configFlag
}

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

export const statusCommand = Command.make("status", flags, ({ redisPrefix, relayPrefix, json, config }) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const prefix = Option.getOrElse(redisPrefix, () => settings.historyPrefix)
    const relay = Option.getOrElse(relayPrefix, () => settings.relayPrefix)
    const { status, overview } = yield* Effect.gen(function*() {
      const redis = yield* Redis
      const status = yield* makeEpochStore(redis, { prefix }).status()
      const overview = yield* redis.use((c) => readOverview(c, { historyPrefix: prefix, relayPrefix: relay }), "reading the overview")
      return { status, overview }
    }).pipe(Effect.provide(RedisLive.layer({ url: settings.redisUrl })))
    const history = makeRunHistory({ url: Redacted.value(settings.redisUrl), prefix: settings.runsPrefix, failFast: true })
    const runs: Array<RunRecord> = yield* Effect.promise(() => history.list(5).catch(() => [])).pipe(Effect.ensuring(Effect.sync(() => history.close())))
    const relayUsed = overview.relay !== undefined && (overview.relay.state !== undefined || overview.relay.streams.some((s) => s.length > 0))
    if (json) {
      return yield* Console.log(JSON.stringify({
        ...status,
        epochs: overview.epochs,
        relay: relayUsed ? overview.relay : undefined,
        redis: overview.redis,
        maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
        runs: runs.map((r) => ({ ...settle(r), shownState: settle(r).state }))
      }))
    }
    const rows = Object.entries(status)
      .filter(([key]) => key !== "ordering_consistent")
      .map(([key, value]) => [key.replaceAll("_", " "), value === null ? "—" : String(value)] as const)
    const width = Math.max(...rows.map(([k]) => k.length), "Metric".length)
    yield* Console.log(`Hecate — ${prefix}`)
    yield* Console.log(`${"Metric".padEnd(width)}  Value`)
    for (const [k, v] of rows) yield* Console.log(`${k.padEnd(width)}  ${v}`)
    if (status.last_synced_epoch === null) yield* Console.log("Nothing relayed here yet.")
    if (!status.ordering_consistent) {
      yield* Console.log(
        `Inconsistent: low_watermark ${status.low_watermark} is above last_synced_epoch + 1 (${status.last_synced_epoch}).`
      )
    }
    const e = overview.epochs
    if (e !== undefined) {
      const inFlight = Object.keys(e.inFlight)
      yield* Console.log(
        `\nBackfill: ${e.backpressure.paused ? `PAUSED on slow consumers since ${hhmmss(e.backpressure.since)}` : "not paused"}; ` +
          `${n(e.unconsumed)} unconsumed (pauses at ${settings.redisMaxUnconsumedEpochs}); ` +
          `${e.streams.length} epoch stream(s) kept${inFlight.length > 0 ? `; in flight: ${inFlight.join(", ")}` : ""}${e.ready.length > 0 ? `; synced, waiting: ${e.ready.join(", ")}` : ""}`
      )
    }
    const r = overview.relay
    if (r !== undefined && relayUsed) {
      yield* Console.log(
        `Relay ${r.prefix} — ${relayState(r)}${r.endpoint === undefined ? "" : ` (${r.endpoint})`}; ` +
          `height ${n(r.height)}, ${tipText(r)}; ` +
          `events ${n(r.streams[0]?.length)}, final ${n(r.streams[1]?.length)}; reconnects ${n(r.counters["reconnects"] ?? 0)}` +
          (r.lastReconnectCause === undefined ? "" : ` (last: ${r.lastReconnectCause})`)
      )
    }
    const groups = groupRows(overview)
    yield* Console.log("\nConsumer groups")
    if (groups.length === 0) yield* Console.log("  no consumer groups (none registered on these streams)")
    else for (const line of columns(["STREAMS", "GROUP", "LAG", "PENDING", "UNFINISHED EPOCHS", "HOLDS BACK"], groups)) yield* Console.log(`  ${line}`)
    const rd = overview.redis
    yield* Console.log(
      `\nRedis: ${rd.reachable ? `up, ${rd.version ?? "?"}, ping ${rd.pingMs ?? "?"} ms, ${rd.usedMemory ?? "?"} used, ${rd.clients ?? "?"} clients` : `unreachable (${rd.error ?? "?"})`}`
    )
    if (runs.length > 0) {
      yield* Console.log("\nLatest runs (hecate runs show ID for one)")
      const shown = runs.map((run) => settle(run))
      for (const line of columns(["ID", "COMMAND", "PREFIX", "STATE", "STARTED (UTC)", "ERROR"], shown.map((x) => [x.id, x.command, x.prefix ?? "-", x.state, hhmmss(x.startedAt), oneLine(x.error ?? "")]))) {
        yield* Console.log(`  ${line}`)
      }
    }
  }).pipe(runCommand({ overrides: { configFile: Option.getOrUndefined(config) }, failure: "Status unavailable" }))
).pipe(Command.withDescription("Show the backfill's progress, consumer groups and their lag, the relay and Redis (read-only)"))
