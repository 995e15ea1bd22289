/**
 * Expected failures (bad configuration, an unreachable Redis or Ogmios, a refused window …) are
 * printed as one line saying what happened and what to do, with their documented exit code —
 * no stack trace. Anything else is a bug and keeps runMain's full report.
 */
import { Cause, Console, Effect, Runtime } from "effect"
import { redactCredentials } from "../domain/redacted-url.js"
import { ExitCode } from "./exit-codes.js"

/** An error already shown to the user; carries the exit code for the teardown. */
export class ReportedFailure extends Error {
  override readonly [Runtime.errorExitCode]: number
  // Effect's marker reads "should runMain report this": false, as it has been printed already
  // (true would print it a second time, as runMain's ERROR line with the error's text)
  override readonly [Runtime.errorReported] = false
  constructor(readonly code: number, message: string) {
    super(message)
    this[Runtime.errorExitCode] = code
  }
}

/** An expected failure's exit code: every error class a user can cause carries its `exitCode`. */
export const exitCodeFor = (error: unknown): number | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const own = (error as { exitCode?: unknown }).exitCode
  return typeof own === "number" ? own : undefined
}

/**
 * Prints `<label>: <message>` for expected failures and exits with their code; on stdout, or on
 * stderr for a command whose stdout is its data (`consume`).
 */
export const reportExpectedFailures = (label: string, to: "stdout" | "stderr" = "stdout") =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ReportedFailure, R> =>
    Effect.catchCause(self, (cause): Effect.Effect<never, E | ReportedFailure> => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      const error = Cause.squash(cause)
      const code = exitCodeFor(error)
      if (code === undefined) return Effect.failCause(cause)
      // the message may quote an endpoint or a Redis URL; it is printed and carried to runMain's report
      const message = redactCredentials((error as { message?: string }).message ?? String(error))
      return (to === "stderr" ? Console.error : Console.log)(`${label}: ${message}`).pipe(Effect.andThen(Effect.fail(new ReportedFailure(code, message))))
    })
