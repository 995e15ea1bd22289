/**
 * The scheduled refresh as the long-running commands wire it: the trigger from the settings
 * (HECATE_REFRESH_CRON, or a fixed interval), the self-contained refresh job per run (over the
 * run's OgmiosConnector), and a log line per run. `relay` and `serve` fork `scheduler.run` next to their main work.
 */
import { Duration, Effect, Option } from "effect"
import { type HecateSettings, InvalidConfiguration } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { runRefreshJob, type RefreshReport, describeCommit } from "./job.js"
import { describeRefresh } from "./refresh.js"
import { makeRefreshScheduler, type RefreshScheduler, type RefreshTrigger } from "./schedule.js"

export interface ScheduledRefreshOptions {
  /** a fixed interval instead of the settings' cron (see `parseInterval`) */
  readonly intervalDuration?: Duration.Duration | undefined
}

/** Parses "6 hours" / "30 seconds" / "500 millis" into a positive Duration, or undefined. */
export const parseInterval = (text: string): Duration.Duration | undefined => {
  const d = Option.getOrUndefined(Duration.fromInput(text.trim() as Duration.Input))
  return d !== undefined && Duration.isFinite(d) && Duration.toMillis(d) > 0 ? d : undefined
}

/** Where the refresh's schedule comes from when no interval replaces it, named in the messages. */
export const REFRESH_SCHEDULE_SETTING = "HECATE_REFRESH_CRON (refresh.cron in the config file)"

/**
 * The fixed refresh interval of `serve` and `relay`: `--refresh-interval`, else the config file's
 * `refresh.interval`, else none (the cron runs). A value that is not a positive duration is
 * refused naming where it was set, so the user knows which one to fix.
 */
export const refreshIntervalChoice = (
  flag: string | undefined,
  file: { readonly path: string | undefined; readonly interval: string | undefined }
): Effect.Effect<{ readonly text: string; readonly every: Duration.Duration } | undefined, InvalidConfiguration> => {
  const text = flag ?? file.interval
  if (text === undefined) return Effect.succeed(undefined)
  const every = parseInterval(text)
  if (every !== undefined) return Effect.succeed({ text, every })
  const where = flag !== undefined ? "--refresh-interval" : `refresh.interval in the config file ${file.path ?? ""}`.trimEnd()
  return Effect.fail(new InvalidConfiguration({
    variable: flag !== undefined ? "--refresh-interval" : "refresh.interval",
    message: `${where} must be a positive duration like "6 hours" or "30 seconds", got ${JSON.stringify(text)}; ` +
      `it replaces the refresh schedule of ${REFRESH_SCHEDULE_SETTING}: fix it, or leave it out to keep that schedule`
  }))
}

export const refreshTrigger = (settings: HecateSettings, interval?: Duration.Duration): RefreshTrigger =>
  interval !== undefined ? { _tag: "Interval", every: interval } : { _tag: "Cron", expression: settings.refreshCron }

export const makeScheduledRefresh = (
  settings: HecateSettings,
  options: ScheduledRefreshOptions = {}
): Effect.Effect<RefreshScheduler, never, OgmiosConnector> =>
  Effect.flatMap(Effect.service(OgmiosConnector), (connector) =>
  makeRefreshScheduler(
    runRefreshJob({ cachePath: settings.epochCachePath }).pipe(Effect.provideService(OgmiosConnector, connector)),
    {
      trigger: refreshTrigger(settings, options.intervalDuration),
      describe: (r) => {
        const report = r as RefreshReport
        return describeRefresh(report.result) + (report.commit !== undefined ? ` ${describeCommit(report.commit)}` : "")
      }
    }
  ))
