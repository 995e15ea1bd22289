/**
 * The scheduled refresh as the long-running commands wire it: the trigger from the settings
 * (HECATE_REFRESH_CRON, or a fixed interval), the self-contained refresh job per run (over the
 * run's OgmiosConnector), and a log line per run. `relay` and `serve` fork `scheduler.run` next to their main work.
 */
import { Duration, Effect, Option } from "effect"
import type { HecateSettings } from "../services/HecateConfig.js"
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
