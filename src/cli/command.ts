/**
 * A command's composition root. Every command is: its flags → setting overrides → this root →
 * one library program. The root loads the settings ONCE for the run (defaults < .env < config
 * file < environment < flag), provides them and the layers built from them — `HecateConfig`, the
 * config file (`HecateConfigFile`) and the Ogmios connection (`OgmiosConnector`) — and runs the
 * program under the logger the settings ask for, its expected failures printed as one line with
 * their documented exit code. Nothing below a command loads the settings again.
 *
 * When the settings do not load, the failure is reported through the same one line (exit 2), under
 * the logger of the `--log-format` / `--log-level` flags alone.
 */
import { Effect, Layer, Result } from "effect"
import { HecateConfigFile } from "../config/file.js"
import type { SettingKey } from "../config/settings.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import { HecateConfig, type HecateConfigOverrides, type InvalidConfiguration } from "../services/HecateConfig.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { withSettingsLogging, withStartupLogging } from "./logging.js"
import { reportExpectedFailures, type ReportedFailure } from "./report.js"

/** What a command's program may take from its root. */
export type CommandServices = HecateConfig | HecateConfigFile | OgmiosConnector

export interface CommandRoot {
  /** the flags' values for settings (undefined = not given) */
  readonly overrides: HecateConfigOverrides
  /**
   * Validate only these settings (the ones the command uses): a value the command never uses
   * cannot stop it. Default: all of them.
   */
  readonly only?: ReadonlyArray<SettingKey> | undefined
  /** the label of the one-line failure report, `<failure>: <message>` */
  readonly failure: string
  /** where that line goes: stdout, or stderr for a command whose stdout is its data */
  readonly failuresTo?: "stdout" | "stderr" | undefined
}

/** Runs a command's program with its settings and the layers built from them (see the module comment). */
export const runCommand = (root: CommandRoot) =>
<A, E, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidConfiguration | ReportedFailure, Exclude<R, CommandServices>> =>
  Effect.gen(function*() {
    const report = reportExpectedFailures(root.failure, root.failuresTo ?? "stdout")
    const loaded = yield* Effect.result(HecateConfigLive.loadWithFile(root.overrides, { only: root.only }))
    if (Result.isFailure(loaded)) {
      return yield* report(Effect.fail(loaded.failure)).pipe(withStartupLogging(root.overrides.logFormat))
    }
    const { settings, file } = loaded.success
    const config = Layer.succeed(HecateConfig, settings)
    const layers = Layer.mergeAll(config, Layer.succeed(HecateConfigFile, file), OgmiosConnector.layer.pipe(Layer.provide(config)))
    return yield* program.pipe(
      report,
      Effect.provide(layers),
      withSettingsLogging(settings)
    ) as Effect.Effect<A, E | ReportedFailure, Exclude<R, CommandServices>>
  })
