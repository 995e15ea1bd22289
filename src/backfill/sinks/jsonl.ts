/**
 * The `jsonl` sink: one block per line (JSON in the chosen wire format, bigint-exact) to stdout or
 * to a file (appended). Lines cannot be retracted: a retried epoch appears again, so consumers
 * should de-duplicate by (height, hash) — or use the redis sink, which resets on retry.
 */
import { type FileHandle, open } from "node:fs/promises"
import { Effect } from "effect"
import { encodeBlock, type WireFormat } from "../../domain/wire-format.js"
import { type BlockSink, SinkError } from "./BlockSink.js"

export interface JsonlSinkOptions {
  /** A file to append to; stdout when absent (or "-"). */
  readonly path?: string
  readonly format?: WireFormat
  /** Override of the stdout writer (tests). */
  readonly write?: (text: string) => void
}

export const makeJsonlSink = (options: JsonlSinkOptions = {}): BlockSink => {
  const format = options.format ?? "hecate"
  const toFile = options.path !== undefined && options.path !== "-"
  let handle: FileHandle | undefined
  const fail = (detail: string) => (cause: unknown) => new SinkError({ sink: "jsonl", detail: `${detail}: ${(cause as Error).message}`, cause })

  const emit = (text: string) =>
    toFile
      ? Effect.tryPromise({
        try: async () => {
          if (handle === undefined) throw new Error("the sink is not open")
          await handle.write(text)
        },
        catch: fail(`cannot write to ${options.path}`)
      })
      : Effect.sync(() => (options.write ?? ((t: string) => void process.stdout.write(t)))(text))

  return {
    name: "jsonl",
    open: () =>
      toFile && handle === undefined
        ? Effect.tryPromise({
          try: async () => {
            handle = await open(options.path!, "a")
          },
          catch: fail(`cannot open ${options.path} for appending (check the directory exists and is writable)`)
        })
        : Effect.void,
    beginEpoch: () => Effect.void,
    writeBatch: (_epoch, blocks) =>
      blocks.length === 0 ? Effect.void : emit(blocks.map((b) => encodeBlock(b, format)).join("\n") + "\n"),
    endEpoch: () => Effect.void,
    close: () =>
      Effect.tryPromise({
        try: async () => {
          const h = handle
          handle = undefined
          await h?.close()
        },
        catch: fail(`cannot close ${options.path}`)
      })
  }
}
