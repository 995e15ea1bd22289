/**
 * How a CLI process ends when the world around it stops it: the reader of its stdout goes away
 * (`hecate backfill --sink jsonl | head`), or its supervisor sends SIGTERM.
 */
import { Cause, Console, Effect, Exit } from "effect"

let stdoutClosedHandlers: Array<() => void> | undefined
let stdoutIsClosed = false

/**
 * Stdout's reader closing the pipe (EPIPE) is not an error of the program: it stops writing, as
 * Unix tools do. The listener stays for the whole process, so later writes (an interruption
 * notice) cannot raise an unhandled 'error' either; any other stdout error is re-thrown.
 */
const watchStdout = (): Array<() => void> => {
  if (stdoutClosedHandlers !== undefined) return stdoutClosedHandlers
  const handlers: Array<() => void> = []
  stdoutClosedHandlers = handlers
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    if (stdoutIsClosed) return
    stdoutIsClosed = true
    for (const handler of handlers.splice(0)) handler()
  })
  return handlers
}

/** Completes when stdout's reader has gone away (never, while it reads). */
export const stdoutClosed: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handlers = watchStdout()
  if (stdoutIsClosed) return resume(Effect.void)
  const handler = () => resume(Effect.void)
  handlers.push(handler)
  return Effect.sync(() => {
    const i = handlers.indexOf(handler)
    if (i >= 0) handlers.splice(i, 1)
  })
})

/**
 * Runs `self` until it ends or stdout's reader goes away; in the latter case `self` is interrupted
 * (its finalizers run: a run is recorded as Cancelled, servers are closed) and the process ends
 * quietly with exit 0: the reader had what it wanted.
 */
export const untilStdoutCloses = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | void, E, R> =>
  Effect.raceFirst(self, stdoutClosed)

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
            yield* Console.error(message)
            process.exit(0)
          }
        })
      )
    )
  })
