/**
 * `hecate runs`: the run history (src/observability/runs.ts): every backfill / relay / refresh run
 * with its command, parameters, state, start / end, blocks and error. `runs` lists the newest
 * first; `runs show ID` prints one.
 */
import { Console, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { configFlag, intFlag } from "../config/flags.js"
import { runCommand } from "../cli/command.js"
import { RedisLive } from "../layers/RedisLive.js"
import { RunHistory, type RunHistoryShape, shownState } from "../observability/runs.js"
import { runDetail, runJson, runTable } from "../observability/runs-view.js"
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

/** `f` over the run history; a Redis that cannot be read fails fast with one line naming it. */
const withHistory = <A>(runsPrefix: Option.Option<string>, f: (history: RunHistoryShape) => Effect.Effect<A, RedisError>) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const url = redactUrl(Redacted.value(settings.redisUrl))
    return yield* Effect.flatMap(RunHistory, f).pipe(
      Effect.mapError((error) =>
        new RedisError({
          operation: "reading the run history",
          url,
          detail: `cannot read the run history from Redis at ${url} (${error.cause instanceof Error ? error.cause.message : error.detail}): is REDIS_URL right?`,
          cause: error.cause
        })
      ),
      Effect.provide(
        RunHistory.layer({ prefix: Option.getOrElse(runsPrefix, () => settings.runsPrefix), keep: settings.runsKeep }).pipe(
          Layer.provide(RedisLive.lazy({ url: settings.redisUrl, connectionName: "hecate-runs" }))
        )
      )
    )
  })

const show = Command.make("show", { id: Argument.String("id").pipe(Argument.withDescription("The run id (first column of `runs`)")), ...common }, ({ id, runsPrefix, json, config }) =>
  Effect.gen(function*() {
    const found = yield* withHistory(runsPrefix, (h) =>
      Effect.gen(function*() {
        const run = yield* h.get(id)
        return run === undefined ? { prefix: h.prefix, run } : { prefix: h.prefix, run, log: yield* h.readLog(id), timeline: yield* h.readEpochs(id) }
      }))
    const record = found?.run
    if (found === undefined || record === undefined) return yield* new RunNotFound({ id, prefix: found?.prefix ?? "" })
    const { log, timeline } = found as Required<typeof found>
    yield* Console.log(json ? runJson(record, timeline, log) : runDetail(record, timeline, log))
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
    const runs = yield* withHistory(runsPrefix, (h) =>
      Option.isNone(prefix)
        ? h.list(limit)
        : Effect.map(h.list(Number.MAX_SAFE_INTEGER), (all) => all.filter((r) => r.prefix === prefix.value).slice(0, limit)))
    if (json) return yield* Console.log(JSON.stringify(runs.map((r) => ({ ...r, shownState: shownState(r) }))))
    yield* Console.log(runs.length > 0 ? runTable(runs) : Option.isSome(prefix) ? `no runs recorded under the prefix ${prefix.value}` : "no runs recorded")
  }).pipe(runCommand({ overrides: { configFile: Option.getOrUndefined(config) }, failure: "runs" }))).pipe(
    Command.withDescription("The run history: every backfill / relay / refresh run (state, start / end, blocks, error); `runs show ID` for one"),
    Command.withSubcommands([show])
  )
