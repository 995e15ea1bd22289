/**
 * Logs go to stderr (stdout carries data, e.g. `--sink jsonl`), pretty or JSON, at a level, through
 * the stderr terminal (so they never write over the progress bar).
 *
 * pretty: one line per event, `09:25:23 INFO  message  run=… command=…`. Annotations are shown
 * inline, and only when they differ from the previous line's (a run's lines follow its first one),
 * so that the usual one-command output is not the same `run=… command=…` on every line.
 * json: one JSON object per event with every field (annotations on every line), for machines.
 *
 * Everything a command prints (log lines, their annotations and causes, and, through Effect's
 * console, the one-line failure report) passes through `redactCredentials`: an Ogmios endpoint's
 * `user:key@` or a Redis password never reaches the terminal or a log collector, whichever
 * message or library error quoted the URL.
 */
import { inspect } from "node:util"
import { Cause, Console, Effect, Layer, Logger, Option, References } from "effect"
import type { LogLevel } from "effect"
import { GlobalFlag } from "effect/cli"
import { redactCredentials } from "../domain/redacted-url.js"
import { stderr, type Terminal } from "./terminal.js"

const redactArgs = (args: ReadonlyArray<unknown>): Array<unknown> =>
  args.map((a) => (typeof a === "string" ? redactCredentials(a) : a === undefined || a === null || typeof a !== "object" ? a : redactCredentials(inspect(a, { depth: 6 }))))

/** A console that writes like `base`, with credentials in URLs masked. */
export const redactingConsole = (base: Console.Console): Console.Console =>
  new Proxy(base, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown
      if (typeof value !== "function") return value
      return (...args: Array<unknown>) => (value as (...a: Array<unknown>) => unknown).apply(target, redactArgs(args))
    }
  })

const LEVEL_COLOR: Partial<Record<LogLevel.LogLevel, string>> = {
  Fatal: "\x1b[1;31m",
  Error: "\x1b[31m",
  Warn: "\x1b[33m",
  Info: "\x1b[32m",
  Debug: "\x1b[34m",
  Trace: "\x1b[90m"
}
const DIM = "\x1b[2m"
const RESET = "\x1b[0m"

const text = (part: unknown): string => (typeof part === "string" ? part : inspect(part, { depth: 4, breakLength: Infinity }))

const clock = (date: Date): string =>
  [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":")

/** The pretty one-line logger (exported for tests). */
export const prettyLogger = (terminal: Terminal, colors: boolean) => {
  let previous = ""
  const paint = (code: string | undefined, s: string) => (colors && code !== undefined ? `${code}${s}${RESET}` : s)
  return Logger.make<unknown, void>(({ cause, date, fiber, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    const level = logLevel === "Warn" ? "WARN" : logLevel.toUpperCase()
    const annotations = Object.entries(fiber.getRef(References.CurrentLogAnnotations))
      .map(([key, value]) => `${key}=${text(value)}`)
      .join(" ")
    const shown = annotations !== previous ? annotations : ""
    previous = annotations
    let line = `${paint(DIM, clock(date))} ${paint(LEVEL_COLOR[logLevel], level.padEnd(5))} ${parts.map(text).join(" ")}`
    if (shown !== "") line += `  ${paint(DIM, shown)}`
    if (cause.reasons.length > 0) line += `\n${Cause.pretty(cause).replace(/^/gm, "  ")}`
    terminal.line(redactCredentials(line))
  })
}

export const loggingLayer = (format: "pretty" | "json", level: LogLevel.LogLevel) =>
  Layer.mergeAll(
    Logger.layer([
      format === "json"
        ? Logger.map(Logger.formatJson, (line) => stderr.line(redactCredentials(line)))
        : prettyLogger(stderr, process.stderr.isTTY === true && process.stderr.hasColors())
    ]),
    Layer.succeed(References.MinimumLogLevel, level),
    Layer.succeed(Console.Console, redactingConsole(globalThis.console as unknown as Console.Console))
  )

/** The level `--log-level` (the command line's built-in flag) asks for, if it was given. */
const flagLogLevel: Effect.Effect<Option.Option<LogLevel.LogLevel>> = Effect.map(
  Effect.serviceOption(GlobalFlag.LogLevel),
  Option.flatten
)

/**
 * The logger until the settings are read: the `--log-format` flag's format (pretty by default) at
 * `--log-level`'s level (info by default).
 */
export const withStartupLogging = (format: "pretty" | "json" | undefined) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(flagLogLevel, (level) =>
      Effect.provide(self, loggingLayer(format ?? "pretty", Option.getOrElse(level, () => "Info" as const))))

/**
 * The logger the settings ask for, once they are read: their format (`--log-format` over
 * HECATE_LOG_FORMAT over the config file's `log.format`) at `--log-level` over HECATE_LOG_LEVEL
 * over the file's `log.level`. A command's root (src/cli/command.ts) runs the whole command under
 * it, its run-history lines and failure report included.
 */
export const withSettingsLogging = (settings: { readonly logFormat: "pretty" | "json"; readonly logLevel: LogLevel.LogLevel }) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(flagLogLevel, (level) =>
      Effect.provide(self, loggingLayer(settings.logFormat, Option.getOrElse(level, () => settings.logLevel))))
