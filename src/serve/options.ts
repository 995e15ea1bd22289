/**
 * What `serve` runs with: the resolved settings, the config file's keys that have no variable
 * (refresh.*, relay.format/maxLag/retain, http.enabled), and the choices only its flags make.
 */
import { type Duration, Effect } from "effect"
import type { ConfigFile } from "../config/file.js"
import { refreshIntervalChoice } from "../refresh/service.js"
import type { HecateSettings, InvalidConfiguration } from "../services/HecateConfig.js"

export interface ServeOptions {
  readonly settings: HecateSettings
  readonly file: ConfigFile
  /** relay a fresh prefix from here without a backfill (default: sync) */
  readonly relayStart?: "tip" | "origin" | undefined
  readonly http: boolean
  readonly refresh: boolean
  /** a fixed refresh interval instead of the cron */
  readonly refreshInterval?: { readonly text: string; readonly every: Duration.Duration } | undefined
  /** one refresh per tick across every instance on the same Redis */
  readonly refreshCluster: boolean
}

export interface ServeChoices {
  readonly relayStart?: "tip" | "origin" | undefined
  readonly noHttp: boolean
  readonly noRefresh: boolean
  readonly refreshInterval?: string | undefined
  readonly refreshCluster: boolean
}

/** Flags first, then the config file; an interval that is not a positive duration is refused (exit 2). */
export const serveOptions = (
  settings: HecateSettings,
  file: ConfigFile,
  choices: ServeChoices,
  filePath?: string
): Effect.Effect<ServeOptions, InvalidConfiguration> =>
  Effect.map(refreshIntervalChoice(choices.refreshInterval, { path: filePath, interval: file.refresh?.interval }), (refreshInterval) => ({
    settings,
    file,
    relayStart: choices.relayStart,
    http: !choices.noHttp && (file.http?.enabled ?? true),
    refresh: !choices.noRefresh && (file.refresh?.enabled ?? true),
    refreshInterval,
    refreshCluster: choices.refreshCluster
  }))
