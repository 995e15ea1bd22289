/**
 * Logs go to stderr (stdout carries data, e.g. `--sink jsonl`), pretty or JSON, at a level.
 *
 * Everything the command prints through Effect's console (log lines, their annotations and
 * causes, the one-line failure report) passes through `redactCredentials`: an Ogmios endpoint's
 * `user:key@` or a Redis password never reaches the terminal or a log collector, whichever
 * message or library error quoted the URL.
 */
import { inspect } from "node:util"
import { Console, Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"
import { redactCredentials } from "../domain/redacted-url.js"

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

export const loggingLayer = (format: "pretty" | "json", level: LogLevel.LogLevel) =>
  Layer.mergeAll(
    format === "json"
      ? Logger.layer([Logger.withConsoleError(Logger.formatJson)])
      : Layer.mergeAll(Logger.layer([Logger.consolePretty()]), Layer.succeed(Logger.LogToStderr, true)),
    Layer.succeed(References.MinimumLogLevel, level),
    Layer.succeed(Console.Console, redactingConsole(globalThis.console as unknown as Console.Console))
  )
