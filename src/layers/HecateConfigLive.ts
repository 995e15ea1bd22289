/**
 * The live HecateConfig: every setting resolved once, by precedence
 *
 *   CLI flag overrides  >  environment (the ambient ConfigProvider)  >  config file  >  .env file  >  defaults
 *
 * The config file is `overrides.configFile` (`--config`), else `HECATE_CONFIG`, else
 * `./hecate.config.json` when it exists (src/config/file.ts); every command reads it through here.
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
import { CONFIG_VARIABLE, fileVariables, type LoadedConfigFile, loadConfigFile } from "../config/file.js"
import { type AnySetting, ENV_FILE_VARIABLE, type Setting, type SettingKey, settingProblem, settings } from "../config/settings.js"
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
      message: settingProblem(setting, problem, fromFlag)
    })
  if (override !== undefined) return Result.mapError(setting.check(override), (p) => fail(p, true))
  if (Option.isNone(raw)) return Result.succeed(defaults[setting.key])
  return Result.mapError(setting.parse(raw.value), (p) => fail(p, false))
}

export interface LoadedSettings {
  readonly settings: HecateSettings
  /** the config file read (its keys without a variable are for the commands that have them) */
  readonly file: LoadedConfigFile
}

export interface LoadOptions {
  /**
   * Resolve and validate only these settings (the ones the command uses); every other one keeps
   * its default, unread, so a value a command never uses cannot stop it.
   */
  readonly only?: ReadonlyArray<SettingKey> | undefined
}

/** Resolve and validate every setting (or `only` those), and return the config file read with them. */
export const loadWithFile = Effect.fnUntraced(function*(
  overrides: HecateConfigOverrides = {},
  options: LoadOptions = {}
): Effect.fn.Return<LoadedSettings, InvalidConfiguration> {
  const env = yield* ConfigProvider.ConfigProvider
  const configNamed = overrides.configFile ?? Option.getOrUndefined(yield* readRaw(env, CONFIG_VARIABLE))
  const configFile = yield* loadConfigFile(configNamed)
  const named = overrides.envFile ?? Option.getOrUndefined(yield* readRaw(env, ENV_FILE_VARIABLE))
  const file = path.resolve(named ?? DEFAULT_ENV_FILE)
  const contents = yield* readEnvFile(file, named !== undefined)
  // real environment first, then the config file, then the .env file for what neither sets
  const withConfig = ConfigProvider.orElse(env, ConfigProvider.fromUnknown(fileVariables(configFile.config)))
  const provider = Option.match(contents, {
    onNone: () => withConfig,
    onSome: (text) => ConfigProvider.orElse(withConfig, ConfigProvider.fromDotEnvContents(text))
  })

  const values: Record<string, unknown> = {
    envFile: Option.map(contents, () => file),
    configFile: Option.fromUndefinedOr(configFile.path)
  }
  for (const setting of settings as ReadonlyArray<AnySetting>) {
    const s = setting as Setting<SettingKey>
    if (options.only !== undefined && !options.only.includes(s.key)) {
      values[s.key] = defaults[s.key]
      continue
    }
    const raw = yield* readRaw(provider, s.variable)
    values[s.key] = yield* Effect.fromResult(resolveOne(s, overrides[s.key], raw))
  }
  return { settings: makeSettings(values as unknown as HecateSettings), file: configFile }
})

/** Resolve and validate every setting, or `only` those (see the module comment for the precedence). */
export const load = (overrides: HecateConfigOverrides = {}, options: LoadOptions = {}): Effect.Effect<HecateSettings, InvalidConfiguration> =>
  Effect.map(loadWithFile(overrides, options), (loaded) => loaded.settings)

export const HecateConfigLive = {
  /**
   * `HecateConfigLive.layer(overrides)`: HecateConfig from env / .env / defaults, with the given
   * flag values (undefined = not given) winning over all of them.
   */
  layer: (overrides: HecateConfigOverrides = {}): Layer.Layer<HecateConfig, InvalidConfiguration> =>
    Layer.effect(HecateConfig, load(overrides)),
  load,
  loadWithFile
} as const
