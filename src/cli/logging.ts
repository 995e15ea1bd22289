/** Logs go to stderr (stdout carries data, e.g. `--sink jsonl`), pretty or JSON, at a level. */
import { Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"

export const loggingLayer = (format: "pretty" | "json", level: LogLevel.LogLevel) =>
  Layer.mergeAll(
    format === "json"
      ? Logger.layer([Logger.withConsoleError(Logger.formatJson)])
      : Layer.mergeAll(Logger.layer([Logger.consolePretty()]), Layer.succeed(Logger.LogToStderr, true)),
    Layer.succeed(References.MinimumLogLevel, level)
  )
