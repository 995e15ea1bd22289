/**
 * The HTTP part of `observeRun` (run.ts): with `--http-port`, the dashboard, /health and /metrics
 * for the run. Its own module so that a run without `--http-port` never loads the HTTP server, the
 * dashboard page, the health probes or the job queue's reader.
 */
import { Effect, Option, Result } from "effect"
import { settingOf, settingProblem } from "../config/settings.js"
import { queueSettings } from "../distributed/settings.js"
import { makeLazy } from "../layers/RedisLive.js"
import { type HecateSettings, InvalidConfiguration } from "../services/HecateConfig.js"
import { Redis } from "../services/Redis.js"
import { makeHealthChecker } from "./health.js"
import { observabilityServer } from "./http.js"
import { Telemetry } from "./Telemetry.js"
import type { ObserveRunSpec } from "./run.js"
import type { RunHistoryShape } from "./runs.js"
import { makeQueueReader, type QueueActivity } from "./workers.js"

/** `--http-host`, checked like HECATE_HTTP_HOST (a bad value names both), else the setting. */
const httpHost = (flag: Option.Option<string>, settings: HecateSettings): Effect.Effect<string, InvalidConfiguration> => {
  if (Option.isNone(flag)) return Effect.succeed(settings.httpHost)
  const setting = settingOf("httpHost")
  const checked = setting.check(flag.value)
  return Result.isSuccess(checked)
    ? Effect.succeed(checked.success)
    : Effect.fail(new InvalidConfiguration({ variable: setting.variable, message: settingProblem(setting, checked.failure, true) }))
}

export const serveRunHttp = (options: {
  readonly spec: ObserveRunSpec
  readonly port: number
  readonly settings: HecateSettings
  readonly redisUrl: string
  readonly endpoints: ReadonlyArray<string>
  readonly history: RunHistoryShape
}) =>
  Effect.gen(function*() {
    const { spec, port, settings, redisUrl, endpoints, history } = options
    const { live } = yield* Telemetry
    const host = yield* httpHost(spec.http!.host, settings)
    // its own connection: a probe never waits behind the run history's writes
    const health = yield* makeHealthChecker({
      live,
      endpoints,
      relayPrefix: spec.relayPrefix,
      catchingUp: spec.command === "backfill"
        ? () => {
          const b = live.backfill
          return b.plan === undefined ? "planning the backfill" : b.epochsDone < b.plan.epochs ? `backfilling: ${b.epochsDone}/${b.plan.epochs} epochs` : undefined
        }
        : undefined
    }).pipe(Effect.provideServiceEffect(Redis, makeLazy({ url: settings.redisUrl, connectionName: "hecate-health", timeoutMs: 1_000 })))
    // a backfill's page shows its own epoch streams (the settings' prefix unless the run names one)
    const historyPrefix = spec.historyPrefix ?? (spec.command === "backfill" ? settings.historyPrefix : undefined)
    let queue: (() => Promise<QueueActivity>) | undefined
    if (spec.distributed !== undefined) {
      const reader = makeQueueReader(yield* queueSettings(spec.distributed.queue, settings.queuePrefix, { url: redisUrl }))
      yield* Effect.addFinalizer(() => Effect.promise(() => reader.close()))
      queue = reader.read
    }
    const server = yield* observabilityServer({ host, port, health, runs: history, historyPrefix, queue })
    yield* Effect.logInfo(`http: ${server.url} (dashboard /, /health, /metrics)`)
  })
