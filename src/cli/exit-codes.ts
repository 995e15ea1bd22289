/**
 * Process exit codes. 0, 1, 10–14 and 130 are the Python Hecate's contract, kept (consumers and
 * schedulers match on them); 2 is a usage error; 15–17 are ours. The README's exit-code list is
 * this table (test/cli/exit-codes.test.ts checks both, and every error class's code, against it).
 * 10 ("rerun later") also covers an Ogmios that stayed unreachable or silent through the whole
 * reconnect schedule (OgmiosUnavailable): an operating condition, never a crash (1).
 */
import { Cause, Exit, Runtime } from "effect"
import { CliError } from "effect/cli"

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  epochsFailed: 10,
  unreachableWindow: 11,
  noRegisteredConsumer: 12,
  consumerNotFinished: 13,
  orderingStalled: 14,
  producerLockHeld: 15,
  /** the epoch index is invalid, or misses an epoch the run needs */
  epochIndexInvalid: 16,
  /** refresh: the epoch asked for is not final yet */
  epochNotFinal: 17,
  interrupted: 130
} as const

const codeOf = (error: unknown): number => {
  if (CliError.isCliError(error)) return ExitCode.usage
  if (typeof error === "object" && error !== null) {
    // Runtime.errorExitCode is Effect's marker; `exitCode` is the convention of Hecate's error classes.
    const marked = (error as { [Runtime.errorExitCode]?: unknown })[Runtime.errorExitCode]
    if (typeof marked === "number") return marked
    const own = (error as { exitCode?: unknown }).exitCode
    if (typeof own === "number") return own
  }
  return ExitCode.failure
}

/** Maps a program's exit to the documented code; a bare `--help` (ShowHelp without errors) is 0. */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(ExitCode.ok)
  if (Cause.hasInterruptsOnly(exit.cause)) return onExit(ExitCode.interrupted)
  const error = Cause.squash(exit.cause)
  if (error instanceof CliError.ShowHelp) return onExit(error.errors.length === 0 ? ExitCode.ok : ExitCode.usage)
  onExit(codeOf(error))
}
