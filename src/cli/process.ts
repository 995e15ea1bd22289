/**
 * How a CLI process ends when the world around it stops it: the reader of its stdout goes away
 * (`hecate backfill --sink jsonl | head`), or its supervisor sends SIGTERM.
 */
import { Cause, Console, Effect, Exit, Option } from "effect"
import { HecateConfig } from "../services/HecateConfig.js"

/**
 * The line a stopped command leaves its user ("Interrupted. Rerun to resume."): plain text, or,
 * under `--log-format json`, a JSON log line like every other line it wrote, so a log collector
 * never meets one line it cannot parse.
 */
export const stopNotice = (text: string, to: "stdout" | "stderr" = "stderr"): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(HecateConfig), (settings) =>
    Option.isSome(settings) && settings.value.logFormat === "json" ? Effect.logInfo(text)
    : to === "stdout" ? Console.log(text)
    : Console.error(text))

let closedHandlers: Array<() => void> | undefined
let outputIsClosed = false
/** stdout's write errors are reported by the command that writes (its writes' callbacks carry them) */
let stdoutErrorsHandled = false

/**
 * For a command whose stdout is its data and which reports a failed write itself (`consume`: one
 * line and exit 1 instead of an uncaught stack trace): stdout's errors other than EPIPE are then
 * not re-thrown from the stream's 'error' event.
 */
export const handleStdoutErrors = (): void => {
  stdoutErrorsHandled = true
}

/**
 * The reader of stdout (or of stderr: `2>&1 | head`) closing the pipe (EPIPE) is not an error of
 * the program: it stops writing, as Unix tools do. The listeners stay for the whole process, so
 * later writes (an interruption notice, a log line) cannot raise an unhandled 'error' either; any
 * other error of the streams is re-thrown.
 */
const watchOutput = (): Array<() => void> => {
  if (closedHandlers !== undefined) return closedHandlers
  const handlers: Array<() => void> = []
  closedHandlers = handlers
  const onError = (stream: NodeJS.WriteStream) => (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") {
      if (stream === process.stdout && stdoutErrorsHandled) return
      throw error
    }
    if (outputIsClosed) return
    outputIsClosed = true
    for (const handler of handlers.splice(0)) handler()
  }
  process.stdout.on("error", onError(process.stdout))
  process.stderr.on("error", onError(process.stderr))
  return handlers
}

/**
 * Whether the reader of stdout or stderr has gone away: an interruption that follows is the quiet
 * end of `hecate … | head`, not a stop to tell anyone about (there is nobody to tell).
 */
export const isOutputClosed = (): boolean => outputIsClosed

/** Completes when the reader of stdout or stderr has gone away (never, while they read). */
export const outputClosed: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handlers = watchOutput()
  if (outputIsClosed) return resume(Effect.void)
  const handler = () => resume(Effect.void)
  handlers.push(handler)
  return Effect.sync(() => {
    const i = handlers.indexOf(handler)
    if (i >= 0) handlers.splice(i, 1)
  })
})

/**
 * Runs `self` until it ends or the reader of its output goes away; in the latter case `self` is
 * interrupted (its finalizers run: a run is recorded as Cancelled, servers are closed) and the
 * process ends quietly with exit 0: the reader had what it wanted.
 */
export const untilOutputCloses = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | void, E, R> =>
  Effect.raceFirst(self, outputClosed)

/**
 * SIGTERM is a service manager's normal stop: after the clean shutdown (the interruption's
 * finalizers), print `message` on stderr and exit 0. SIGINT keeps exit 130 (interrupted).
 */
export const exitZeroOnSigterm = (message: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let sigterm = false
    const onSigterm = () => {
      sigterm = true
    }
    process.once("SIGTERM", onSigterm)
    return self.pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          process.removeListener("SIGTERM", onSigterm)
          if (sigterm && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
            yield* stopNotice(message)
            process.exit(0)
          }
        })
      )
    )
  })
