/**
 * Writing a chain's lines to a stream (stdout, a socket, a pipe): an item counts as delivered once
 * its line is written, so each write is waited for before the item is acknowledged, and a slow
 * reader slows the reads instead of filling memory.
 */
import { Effect } from "effect"
import { SinkError } from "../sinks/Sink.js"

/**
 * Writes a line: true once written, false when the reader closed the pipe (EPIPE); any other
 * failure (a full disk behind `> file`: ENOSPC) fails the run. The line's item is not
 * acknowledged either way.
 */
export const writeLine = (output: NodeJS.WritableStream, line: string): Effect.Effect<boolean, SinkError> =>
  Effect.callback<boolean, SinkError>((resume) => {
    const done = (error: unknown) => {
      if (error === undefined || error === null) return resume(Effect.succeed(true))
      if ((error as NodeJS.ErrnoException).code === "EPIPE") return resume(Effect.succeed(false))
      resume(Effect.fail(writeError(error)))
    }
    try {
      output.write(`${line}\n`, done)
    } catch (error) {
      done(error)
    }
  })

const writeError = (error: unknown) =>
  new SinkError({
    sink: "stdout",
    detail: `cannot write (${error instanceof Error ? error.message : String(error)}) — the item was not acknowledged, ` +
      `the group's next run starts at it; free the space (or give a writable output), or use --out FILE`,
    cause: error
  })
