/**
 * The `jsonl` sinks, for programs reading lines. The backfill's: one block per line (JSON in the
 * chosen wire format, bigint-exact) to stdout or to a file (appended). Lines cannot be retracted:
 * a retried epoch appears again, so consumers should de-duplicate by (height, hash) — or use the
 * redis sink, which resets on retry. The relay's: one JSON object per event, with its block.
 */
import { type FileHandle, open } from "node:fs/promises"
import { Effect } from "effect"
import { blockSlot } from "../domain/block.js"
import type { ReorgEvent } from "../domain/reorg-event.js"
import { encodeBlock, type WireFormat } from "../domain/wire-format.js"
import type { BlockSink } from "./BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES, RELAY_SINK_CAPABILITIES } from "./capabilities.js"
import { eventType, printedEventSink, type TextWriter } from "./event-printer.js"
import { type RelayEventSink, SinkError } from "./Sink.js"

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
    capabilities: BACKFILL_SINK_CAPABILITIES.jsonl,
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

/** Relay events as JSON lines: type, slot, height, hash, era and the block in `format`. */
export const jsonlEventLines = (events: ReadonlyArray<ReorgEvent>, format: WireFormat): string => {
  let out = ""
  for (const e of events) {
    out += `{"type":"${eventType(e)}","slot":${blockSlot(e.block)},"height":${e.block.height},"hash":"${e.block.id}","era":"${e.block.era}","block":${encodeBlock(e.block, format)}}\n`
  }
  return out
}

/** `relay --sink jsonl`: the events as JSON lines on stdout (or any `write`). */
export const makeJsonlEventSink = (format: WireFormat, write?: TextWriter): RelayEventSink<void> =>
  printedEventSink("jsonl", RELAY_SINK_CAPABILITIES.jsonl, (events) => jsonlEventLines(events, format), write)
