/**
 * `hecate runs`: the run history (src/observability/runs.ts): every backfill / relay / refresh run
 * with its command, parameters, state, start / end, blocks and error. `runs` lists the newest
 * first; `runs show ID` prints one.
 */
import { Console, Effect, Option, Redacted, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { configFlag, intFlag } from "../config/flags.js"
import { runCommand } from "../cli/command.js"
import { makeRunHistory, type RunEpoch, type RunHistory, type RunRecord, shownState } from "../observability/runs.js"
import { HecateConfig } from "../services/HecateConfig.js"
import { RedisError, redactUrl } from "../services/Redis.js"

/** `runs show ID` of an id the history does not hold: the user's to fix (a typo, another prefix). */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  id: Schema.String,
  prefix: Schema.String
}) {
  readonly exitCode = 2
  override get message(): string {
    return `no run ${this.id} in the run history under ${this.prefix} (\`runs\` lists the recorded ones)`
  }
}

const common = {
  runsPrefix: Flag.String("runs-prefix").pipe(Flag.withDescription("Run-history key prefix (default HECATE_RUNS_PREFIX, hecate:runs:)"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON"), Flag.withDefault(false)),
  config: configFlag
}

const withHistory = <A>(runsPrefix: Option.Option<string>, f: (history: RunHistory) => Promise<A>) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const url = Redacted.value(settings.redisUrl)
    return yield* Effect.acquireUseRelease(
      Effect.sync(() => makeRunHistory({ url, prefix: Option.getOrElse(runsPrefix, () => settings.runsPrefix), keep: settings.runsKeep, failFast: true })),
      (history) =>
        Effect.tryPromise({
          try: () => f(history),
          catch: (cause) =>
            new RedisError({
              operation: "reading the run history",
              url: redactUrl(url),
              detail: `cannot read the run history from Redis at ${redactUrl(url)} (${cause instanceof Error ? cause.message : String(cause)}): is REDIS_URL right?`,
              cause
            })
        }),
      (history) => Effect.sync(() => history.close())
    )
  })

const duration = (r: RunRecord): string => {
  const end = r.endedAt === undefined ? Date.now() : Date.parse(r.endedAt)
  const s = Math.max(0, Math.round((end - Date.parse(r.startedAt)) / 1000))
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`
}

const table = (runs: ReadonlyArray<RunRecord>): string => {
  const rows = runs.map((r) => [r.id, r.command, r.prefix ?? "-", shownState(r), r.startedAt.replace("T", " ").slice(0, 19), duration(r), String(r.blocks), r.error ?? ""])
  const head = ["ID", "COMMAND", "PREFIX", "STATE", "STARTED (UTC)", "TOOK", "BLOCKS", "ERROR"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)].join("\n")
}

const show = Command.make("show", { id: Argument.String("id").pipe(Argument.withDescription("The run id (first column of `runs`)")), ...common }, ({ id, runsPrefix, json, config }) =>
  Effect.gen(function*() {
    const found = yield* withHistory(runsPrefix, async (h) => {
      const run = await h.get(id)
      return run === undefined ? { prefix: h.prefix, run } : { prefix: h.prefix, run, log: await h.readLog(id), timeline: await h.readEpochs(id) }
    })
    const record = found?.run
    if (found === undefined || record === undefined) return yield* new RunNotFound({ id, prefix: found?.prefix ?? "" })
    const { log, timeline } = found as Required<typeof found>
    if (json) return yield* Console.log(JSON.stringify({ ...record, shownState: shownState(record), timeline, log: log.entries, logDropped: log.total - log.entries.length }))
    const rows: Array<[string, string]> = [
      ["id", record.id],
      ["command", record.command],
      ["prefix", record.prefix ?? "-"],
      ["state", shownState(record)],
      ["started", record.startedAt],
      ["ended", record.endedAt ?? "-"],
      ["took", duration(record)],
      ["blocks", String(record.blocks)],
      ["error", record.error ?? "-"],
      ["host / pid", `${record.host} / ${record.pid}`],
      ["heartbeat", record.heartbeatAt ?? "-"],
      ["parameters", JSON.stringify(record.parameters)]
    ]
    yield* Console.log(rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join("\n"))
    if (timeline.length > 0) {
      const failed = timeline.filter((e) => e.state === "failed")
      const took = (e: RunEpoch) => (e.end === undefined ? "…" : `${((e.end - e.start) / 1000).toFixed(1)}s`)
      yield* Console.log(`\nepochs      ${timeline.length} (${timeline.filter((e) => e.state === "committed").length} committed, ${failed.length} failed)`)
      for (const e of timeline) {
        if (timeline.length > 20 && e.state === "committed" && e.attempts === 1) continue
        yield* Console.log(`  epoch ${e.epoch}: ${e.state}${e.attempts > 1 ? `, ${e.attempts} attempts` : ""}${e.blocks === undefined ? "" : `, ${e.blocks} blocks`}, ${took(e)}${e.error === undefined ? "" : ` — ${e.error}`}`)
      }
    }
    const dropped = log.total - log.entries.length
    yield* Console.log(`\nlog (${log.entries.length} lines${dropped > 0 ? `, ${dropped} older dropped` : ""})`)
    for (const l of log.entries) yield* Console.log(`  ${l.at.replace("T", " ").slice(0, 23)} ${l.level.padEnd(5)} [${l.process}] ${l.message}`)
  }).pipe(runCommand({ overrides: { configFile: Option.getOrUndefined(config) }, failure: "runs" }))).pipe(Command.withDescription("Show one run: parameters, state, start / end, blocks, error, its epochs and its log"))

export const runsCommand = Command.make("runs", {
  limit: intFlag("limit").pipe(Flag.withDescription("How many runs (newest first)"), Flag.withDefault(20)),
  prefix: Flag.String("prefix").pipe(
    Flag.withDescription("Only the runs that wrote under this Redis key prefix (the PREFIX column, e.g. hecate:history:)"),
    Flag.optional
  ),
  ...common
}, ({ limit, prefix, runsPrefix, json, config }) =>
  Effect.gen(function*() {
    // the history is capped (HECATE_RUNS_KEEP): filtering reads all of it, then keeps the newest `limit`
    const runs = yield* withHistory(runsPrefix, async (h) =>
      Option.isNone(prefix) ? h.list(limit) : (await h.list(Number.MAX_SAFE_INTEGER)).filter((r) => r.prefix === prefix.value).slice(0, limit))
    if (json) return yield* Console.log(JSON.stringify(runs.map((r) => ({ ...r, shownState: shownState(r) }))))
    yield* Console.log(runs.length > 0 ? table(runs) : Option.isSome(prefix) ? `no runs recorded under the prefix ${prefix.value}` : "no runs recorded")
  }).pipe(runCommand({ overrides: { configFile: Option.getOrUndefined(config) }, failure: "runs" }))).pipe(
    Command.withDescription("The run history: every backfill / relay / refresh run (state, start / end, blocks, error); `runs show ID` for one"),
    Command.withSubcommands([show])
  )
