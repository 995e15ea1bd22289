/**
 * The live HecateConfig: every setting resolved once, by precedence
 *
 *   CLI flag overrides  >  environment (the ambient ConfigProvider)  >  .env file  >  defaults
 *
 * The `.env` file is `overrides.envFile`, else `HECATE_ENV_FILE`, else `./.env` (relative to the
 * working directory). A missing default `./.env` is fine; a missing file that was named explicitly is
 * an `InvalidConfiguration` for `HECATE_ENV_FILE`. Empty values (`BATCH_SIZE=`) count as unset.
 * Every invalid value fails with an `InvalidConfiguration` naming the variable, the problem and an
 * example; the Redis URL's password never appears in a message.
 *
 * The environment is the ambient `ConfigProvider` (process.env by default), so tests swap it with
 * `ConfigProvider.layer(ConfigProvider.fromUnknown({...}))`.
 */
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { Config, ConfigProvider, Effect, Layer, Option, Result } from "effect"
import { type AnySetting, ENV_FILE_VARIABLE, type Setting, type SettingKey, settings } from "../config/settings.js"
import {
  defaults,
  HecateConfig,
  type HecateConfigOverrides,
  type HecateSettings,
  InvalidConfiguration,
  makeSettings
} from "../services/HecateConfig.js"

const DEFAULT_ENV_FILE = ".env"

/** Reads one variable as a raw string (unset or empty = none). */
const readRaw = (provider: ConfigProvider.ConfigProvider, variable: string) =>
  Config.option(Config.String(variable)).parse(provider).pipe(
    Effect.mapError((error) =>
      new InvalidConfiguration({ variable, message: `${variable} could not be read: ${error.message}` })
    )
  )

/** The contents of the .env file, none when the default ./.env does not exist. */
const readEnvFile = (file: string, explicit: boolean): Effect.Effect<Option.Option<string>, InvalidConfiguration> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) => cause as NodeJS.ErrnoException
  }).pipe(
    Effect.map(Option.some),
    Effect.catch((error) =>
      error.code === "ENOENT" && !explicit
        ? Effect.succeedNone
        : Effect.fail(
          new InvalidConfiguration({
            variable: ENV_FILE_VARIABLE,
            message: error.code === "ENOENT"
              ? `${ENV_FILE_VARIABLE} names ${JSON.stringify(file)}, which does not exist — create it, or unset ${ENV_FILE_VARIABLE} to use ./.env`
              : `${ENV_FILE_VARIABLE}: cannot read ${JSON.stringify(file)} (${error.code ?? error.message}) — check the path and its permissions`
          })
        )
    )
  )

const resolveOne = <K extends SettingKey>(
  setting: Setting<K>,
  override: HecateSettings[K] | undefined,
  raw: Option.Option<string>
): Result.Result<HecateSettings[K], InvalidConfiguration> => {
  const fail = (problem: string, fromFlag: boolean) =>
    new InvalidConfiguration({
      variable: setting.variable,
      message: `${setting.variable}${fromFlag ? " (set by a command-line flag)" : ""} ${problem}`
    })
  if (override !== undefined) return Result.mapError(setting.check(override), (p) => fail(p, true))
  if (Option.isNone(raw)) return Result.succeed(defaults[setting.key])
  return Result.mapError(setting.parse(raw.value), (p) => fail(p, false))
}

/** Resolve and validate every setting (see the module comment for the precedence). */
export const load = Effect.fnUntraced(function*(
  overrides: HecateConfigOverrides = {}
): Effect.fn.Return<HecateSettings, InvalidConfiguration> {
  const env = yield* ConfigProvider.ConfigProvider
  const named = overrides.envFile ?? Option.getOrUndefined(yield* readRaw(env, ENV_FILE_VARIABLE))
  const file = path.resolve(named ?? DEFAULT_ENV_FILE)
  const contents = yield* readEnvFile(file, named !== undefined)
  // real environment first, the file only for what the environment does not set
  const provider = Option.match(contents, {
    onNone: () => env,
    onSome: (text) => ConfigProvider.orElse(env, ConfigProvider.fromDotEnvContents(text))
  })

  const values: Record<string, unknown> = { envFile: Option.map(contents, () => file) }
  for (const setting of settings as ReadonlyArray<AnySetting>) {
    const s = setting as Setting<SettingKey>
    const raw = yield* readRaw(provider, s.variable)
    values[s.key] = yield* Effect.fromResult(resolveOne(s, overrides[s.key], raw))
  }
  return makeSettings(values as unknown as HecateSettings)
})

export const HecateConfigLive = {
  /**
   * `HecateConfigLive.layer(overrides)`: HecateConfig from env / .env / defaults, with the given
   * flag values (undefined = not given) winning over all of them.
   */
  layer: (overrides: HecateConfigOverrides = {}): Layer.Layer<HecateConfig, InvalidConfiguration> =>
    Layer.effect(HecateConfig, load(overrides)),
  load
} as const
