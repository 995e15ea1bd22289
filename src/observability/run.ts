/**
 * `observeRun`: what every backfill / relay run gets, as one wrapper around the command's effect:
 *
 * - a run record in Redis (runs.ts): Running → Completed / Failed (with the error) / Cancelled
 *   (SIGINT / SIGTERM), with the blocks it relayed; best-effort, never fails the run;
 * - log annotations `run` (the run id) and `command` on every log line of the run;
 * - with `--http-port`: the observability HTTP server (dashboard, /health, /metrics) for the run
 *   (run-http.ts, loaded only then);
 * - backfill: the progress bar on a terminal, periodic progress log lines otherwise.
 */
import { Cause, Effect, Exit, Logger, Option, Redacted, References, type Scope } from "effect"
import { Flag } from "effect/cli"
import { intFlag } from "../config/flags.js"
import { HecateConfig, type InvalidConfiguration } from "../services/HecateConfig.js"
import type { CommandName } from "./metrics.js"
import { Telemetry } from "./Telemetry.js"
import { makeProgressReporter } from "./progress.js"
import { stderr as terminal } from "../cli/terminal.js"
import { redactCredentials, redactUrl } from "../domain/redacted-url.js"
import { hostname } from "node:os"
import { inspect } from "node:util"
import type { BackfillProgress } from "../backfill/backfill.js"
import { makeLazy } from "../layers/RedisLive.js"
import { connectionProblem, type RedisError } from "../services/Redis.js"
import { makeRunHistory, type RunLogEntry, RunRecorder } from "./runs.js"
import { errorMessage } from "../domain/error-message.js"

/** Flags of the commands that can serve /metrics, /health and the dashboard while they run. */
export const observabilityFlags = {
  httpPort: intFlag("http-port").pipe(
    Flag.withDescription("Serve the dashboard, /health and /metrics on this port while running (0 = any free port; default: off)"),
    Flag.optional
  ),
  httpHost: Flag.String("http-host").pipe(Flag.withDescription("Address the HTTP server binds (default HECATE_HTTP_HOST, 127.0.0.1)"), Flag.optional)
}

export interface ObserveRunSpec {
  readonly command: CommandName
  /** the run's parameters as recorded (Options are unwrapped, secrets never included) */
  readonly parameters: Readonly<Record<string, unknown>>
  readonly http?: { readonly port: Option.Option<number>; readonly host: Option.Option<string> } | undefined
  /** Ogmios endpoints probed by /health (default: the settings') */
  readonly endpoints?: ReadonlyArray<string> | undefined
  /** relay prefix: /health reports the distance to the tip */
  readonly relayPrefix?: string | undefined
  /** epoch-stream prefix shown by the dashboard */
  readonly historyPrefix?: string | undefined
  /**
   * The Redis key prefix of the data the run writes, recorded with it (`runs --prefix P`):
   * "history" for the epoch streams (`historyPrefix`, else HECATE_HISTORY_PREFIX), "relay" for
   * `relayPrefix`, a string as is, undefined for none.
   */
  readonly writes?: "history" | "relay" | { readonly prefix: string } | undefined
  /**
   * false when the run itself needs no Redis (backfill into jsonl / cli): without a Redis, its run
   * history is off (said once) rather than retried in the background and waited for at the end.
   */
  readonly usesRedis?: boolean | undefined
  /** `backfill --distributed`: the page shows the queue's workers and jobs (`--queue`, if given) */
  readonly distributed?: { readonly queue: string | undefined } | undefined
}

/** Flag values as JSON-able parameters: Options unwrapped, Redacted hidden. */
export const runParameters = (flags: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(flags)) {
    let value: unknown = v
    if (Option.isOption(v)) value = Option.getOrUndefined(v)
    if (Redacted.isRedacted(value)) value = "<redacted>"
    if (value !== undefined) out[k] = value
  }
  return out
}

export const describeFailure = (cause: Cause.Cause<unknown>): string => errorMessage(Cause.squash(cause))

const RUN_LOG_LEVELS = new Set(["Info", "Warn", "Error", "Fatal"])

/**
 * A logger that copies this run's info, warning and error lines (those annotated with its id) into
 * its log in Redis, for `runs show` and the dashboard's run detail.
 */
export const runLogger = (runId: string, append: (entry: { at: string; level: string; message: string; process: string }) => void, process = `${hostname()}/${globalThis.process.pid}`) =>
  Logger.make<unknown, void>(({ cause, date, fiber, logLevel, message }) => {
    if (!RUN_LOG_LEVELS.has(logLevel)) return
    if (fiber.getRef(References.CurrentLogAnnotations)["run"] !== runId) return
    const parts = Array.isArray(message) ? message : [message]
    let text = parts.map((p) => (typeof p === "string" ? p : inspect(p, { depth: 4, breakLength: Infinity }))).join(" ")
    if (cause.reasons.length > 0) text += ` — ${Cause.pretty(cause).split("\n")[0]}`
    append({ at: date.toISOString(), level: logLevel === "Warn" ? "WARN" : logLevel.toUpperCase(), message: redactCredentials(text), process })
  })

/** `effect` with its run's log lines (annotated `run` = the recorder's id) copied into the run's log. */
export const withRunLog = (recorder: RunRecorder) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const capture = runLogger(recorder.id, (entry) => recorder.log(entry))
  return Effect.updateService(effect, Logger.CurrentLoggers, (loggers) => new Set([...loggers, capture]))
}

/**
 * A distributed backfill's job, run by a worker: its log lines go to the coordinator's run log
 * (`run` of the job), labelled `worker <name>`, written when the job ends (and a failure line if
 * it fails). Without a run (a job of an older coordinator), `effect` as is.
 */
export const intoRunLog = (run: { readonly id: string; readonly prefix: string } | undefined, redisUrl: string, worker: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  if (run === undefined) return effect
  return Effect.suspend(() => {
    const lines: Array<RunLogEntry> = []
    const label = `worker ${worker}`
    const capture = runLogger(run.id, (entry) => lines.push(entry), label)
    return effect.pipe(
      Effect.tapCause((cause) =>
        Effect.sync(() => {
          if (!Cause.hasInterruptsOnly(cause)) lines.push({ at: new Date().toISOString(), level: "WARN", message: redactCredentials(`job failed: ${describeFailure(cause)}`), process: label })
        })
      ),
      Effect.annotateLogs({ run: run.id }),
      Effect.updateService(Logger.CurrentLoggers, (loggers) => new Set([...loggers, capture])),
      // best-effort, like the rest of the run history: the job's outcome never depends on it
      Effect.ensuring(Effect.suspend(() =>
        lines.length === 0 ? Effect.void : Effect.scoped(
          Effect.flatMap(makeLazy({ url: Redacted.make(redisUrl), connectionName: "hecate-runs" }), (redis) => makeRunHistory(redis, { prefix: run.prefix }).appendLog(run.id, lines))
        ).pipe(Effect.ignore)
      ))
    )
  })
}

/** The run's epoch timeline from backfill progress events. */
export const timelineListener = (recorder: RunRecorder) => (event: BackfillProgress): void => {
  const now = Date.now()
  switch (event._tag) {
    case "EpochStarted":
      // attempts count from 0 in the event
      recorder.epoch(event.epoch, { state: "active", attempts: event.attempt + 1, end: undefined, ...(event.attempt === 0 ? { start: now } : {}) })
      return
    case "EpochRetry":
      recorder.epoch(event.epoch, { state: "retrying", error: redactCredentials(event.error) })
      return
    case "EpochSynced":
      recorder.epoch(event.epoch, { state: "synced", end: now, blocks: event.blocks })
      return
    case "EpochFailed":
      recorder.epoch(event.epoch, { state: "failed", end: now, error: redactCredentials(event.error) })
      return
    case "Committed":
      recorder.committed(event.lastSyncedEpoch)
      return
    default:
      return
  }
}

/** Why the run's record did not reach Redis, in a few words. */
const couldNotRecord = (url: string, cause: RedisError | undefined): string => {
  if (cause === undefined) return `Redis at ${url} could not be reached`
  const why = connectionProblem(cause)
  return why === undefined ? cause.detail : `Redis at ${url} could not be reached: ${why}`
}

export const observeRun = (spec: ObserveRunSpec) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidConfiguration, Exclude<R, Scope.Scope> | Telemetry | HecateConfig> =>
  Effect.scoped(Effect.gen(function*() {
    const telemetry = yield* Telemetry
    const { live } = telemetry
    yield* telemetry.command(spec.command)
    // the run's settings, as its command's root loaded them
    const settings = yield* HecateConfig
    const redisUrl = Redacted.value(settings.redisUrl)
    const endpoints = spec.endpoints ?? settings.ogmiosEndpoints
    const redis = yield* makeLazy({ url: settings.redisUrl, connectionName: "hecate-runs" })
    const history = makeRunHistory(redis, { prefix: settings.runsPrefix, keep: settings.runsKeep })
    const blocksAtStart = live.blocks
    const prefix = spec.writes === "history" ? spec.historyPrefix ?? settings.historyPrefix
      : spec.writes === "relay" ? spec.relayPrefix ?? settings.relayPrefix
      : spec.writes?.prefix
    const recorder = new RunRecorder(history, { command: spec.command, prefix, parameters: spec.parameters }, () => live.blocks - blocksAtStart)
    // a run that needs no Redis asks once whether one answers; without one it keeps no history
    // instead of retrying in the background and waiting for Redis at its end
    const historyOff = spec.usesRedis === false
      ? yield* redis.use((c) => c.ping(), "PING").pipe(Effect.as(undefined), Effect.catch((e: RedisError) => Effect.succeed(connectionProblem(e) ?? e.detail)))
      : undefined
    if (historyOff === undefined) recorder.start()
    else yield* Effect.logInfo(`run history off: no Redis at ${redactUrl(redisUrl)} (${historyOff}); this run does not need one`)
    const context = yield* Effect.context<never>()
    const log = (line: string) =>
      void Effect.runForkWith(context)(Effect.logInfo(line).pipe(Effect.annotateLogs({ run: recorder.id, command: spec.command })))

    // progress (backfill)
    let caughtUp: Effect.Effect<void> = Effect.void
    if (spec.command === "backfill") {
      const reporter = makeProgressReporter({
        tty: process.stderr.isTTY === true,
        status: terminal.status,
        endStatus: terminal.endStatus,
        log,
        intervalMs: settings.progressIntervalMs
      })
      const followers = [yield* telemetry.followProgress(reporter.onEvent), yield* telemetry.followProgress(timelineListener(recorder))]
      // the run's end is recorded with every epoch of its timeline: the followers catch up first
      caughtUp = Effect.forEach(followers, (f) => f.caughtUp, { discard: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => reporter.stop()))
    }

    // HTTP: its module (the dashboard, /health probes, the queue reader) loads only when asked for
    const port = spec.http === undefined ? undefined : Option.getOrUndefined(spec.http.port)
    if (port !== undefined) {
      const { serveRunHttp } = yield* Effect.promise(() => import("./run-http.js"))
      yield* serveRunHttp({ spec, port, settings, redisUrl, endpoints, history })
    }

    const captured = <A2, E2, R2>(effect: Effect.Effect<A2, E2, R2>) =>
      effect.pipe(Effect.annotateLogs({ run: recorder.id, command: spec.command }), withRunLog(recorder))
    yield* captured(Effect.logInfo(`${spec.command} run started`))
    return yield* self.pipe(
      captured,
      Effect.onExit((exit) =>
        historyOff !== undefined ? caughtUp : caughtUp.pipe(Effect.andThen(Effect.promise(async () => {
          if (Exit.isSuccess(exit)) await recorder.finish("Completed")
          else if (Cause.hasInterruptsOnly(exit.cause)) await recorder.finish("Cancelled")
          else {
            // the failure ends the log as it ends the run (the command reports it after this)
            recorder.log({ at: new Date().toISOString(), level: "ERROR", message: redactCredentials(`run failed: ${describeFailure(exit.cause)}`), process: `${hostname()}/${process.pid}` })
            await recorder.finish("Failed", describeFailure(exit.cause))
          }
        }))).pipe(
          Effect.andThen(Effect.suspend(() =>
            recorder.persisted ? Effect.void : Effect.logWarning(
              `run ${recorder.id} could not be recorded in Redis (${couldNotRecord(redactUrl(redisUrl), recorder.lastCause)})`
            )
          ))
        )
      )
    )
  }))
