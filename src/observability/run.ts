/**
 * `observeRun`: what every backfill / relay run gets, as one wrapper around the command's effect:
 *
 * - a run record in Redis (runs.ts): Running → Completed / Failed (with the error) / Cancelled
 *   (SIGINT / SIGTERM), with the blocks it relayed; best-effort, never fails the run;
 * - log annotations `run` (the run id) and `command` on every log line of the run;
 * - with `--http-port`: the observability HTTP server (dashboard, /health, /metrics) for the run;
 * - backfill: the progress bar on a terminal, periodic progress log lines otherwise.
 */
import { Cause, Effect, Exit, Option, Redacted, type Scope } from "effect"
import { Flag } from "effect/cli"
import { intFlag } from "../config/flags.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import type { InvalidConfiguration } from "../services/HecateConfig.js"
import { addProgressListener } from "./instrument.js"
import { makeHealthChecker } from "./health.js"
import { observabilityServer } from "./http.js"
import { type CommandName, live } from "./metrics.js"
import { makeProgressReporter } from "./progress.js"
import { stderr as terminal } from "../cli/terminal.js"
import { redactUrl, urlPassword } from "../domain/redacted-url.js"
import { toRedisError } from "../services/Redis.js"
import { makeRunHistory, probeRedis, RunRecorder } from "./runs.js"

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
  /** the command's `--config` file, when given */
  readonly config?: string | undefined
  /**
   * false when the run itself needs no Redis (backfill into jsonl / cli): without a Redis, its run
   * history is off (said once) rather than retried in the background and waited for at the end.
   */
  readonly usesRedis?: boolean | undefined
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

export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)
}

export const observeRun = (spec: ObserveRunSpec) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidConfiguration, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.gen(function*() {
    live.commands.add(spec.command)
    // the command validated the same settings; an invalid one stops the run here too (exit 2)
    const settings = yield* HecateConfigLive.load(spec.config === undefined ? {} : { configFile: spec.config })
    const redisUrl = Redacted.value(settings.redisUrl)
    const endpoints = spec.endpoints ?? settings.ogmiosEndpoints
    const history = makeRunHistory({ url: redisUrl, prefix: settings.runsPrefix, keep: settings.runsKeep })
    const blocksAtStart = live.blocks
    const recorder = new RunRecorder(history, { command: spec.command, parameters: spec.parameters }, () => live.blocks - blocksAtStart)
    const historyOff = spec.usesRedis === false ? yield* Effect.promise(() => probeRedis(redisUrl)) : undefined
    if (historyOff === undefined) recorder.start()
    else yield* Effect.logInfo(`run history off: no Redis at ${redactUrl(redisUrl)} (${historyOff}); this run does not need one`)
    yield* Effect.addFinalizer(() => Effect.sync(() => history.close()))
    const context = yield* Effect.context<never>()
    const log = (line: string) =>
      void Effect.runForkWith(context)(Effect.logInfo(line).pipe(Effect.annotateLogs({ run: recorder.id, command: spec.command })))

    // progress (backfill)
    if (spec.command === "backfill") {
      const reporter = makeProgressReporter({
        tty: process.stderr.isTTY === true,
        status: terminal.status,
        endStatus: terminal.endStatus,
        log,
        intervalMs: settings.progressIntervalMs
      })
      const remove = addProgressListener(reporter.onEvent)
      yield* Effect.addFinalizer(() => Effect.sync(() => {
        remove()
        reporter.stop()
      }))
    }

    // HTTP
    const port = spec.http === undefined ? undefined : Option.getOrUndefined(spec.http.port)
    if (port !== undefined) {
      const host = Option.getOrElse(spec.http!.host, () => settings.httpHost)
      const health = makeHealthChecker({
        redisUrl,
        endpoints,
        relayPrefix: spec.relayPrefix,
        catchingUp: spec.command === "backfill"
          ? () => {
            const b = live.backfill
            return b.plan === undefined ? "planning the backfill" : b.epochsDone < b.plan.epochs ? `backfilling: ${b.epochsDone}/${b.plan.epochs} epochs` : undefined
          }
          : undefined
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => health.close()))
      const server = yield* observabilityServer({ host, port, health, runs: history, historyPrefix: spec.historyPrefix })
      yield* Effect.logInfo(`http: ${server.url} (dashboard /, /health, /metrics)`)
    }

    yield* Effect.logInfo(`${spec.command} run started`).pipe(Effect.annotateLogs({ run: recorder.id, command: spec.command }))
    return yield* self.pipe(
      Effect.annotateLogs({ run: recorder.id, command: spec.command }),
      Effect.onExit((exit) =>
        historyOff !== undefined ? Effect.void : Effect.promise(async () => {
          if (Exit.isSuccess(exit)) await recorder.finish("Completed")
          else if (Cause.hasInterruptsOnly(exit.cause)) await recorder.finish("Cancelled")
          else await recorder.finish("Failed", describeFailure(exit.cause))
        }).pipe(
          Effect.andThen(Effect.suspend(() =>
            recorder.persisted ? Effect.void : Effect.logWarning(
              `run ${recorder.id} could not be recorded in Redis (${
                recorder.lastCause === undefined ? "unreachable" : toRedisError("run history write", redactUrl(redisUrl), recorder.lastCause, urlPassword(redisUrl)).detail
              })`
            )
          ))
        )
      )
    )
  }))
