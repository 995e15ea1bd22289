/**
 * The relay's printed sinks (`relay --sink cli|jsonl`) share how they write: a batch's lines go to
 * stdout, and the batch counts as written once stdout took them, so a slow reader of the pipe
 * slows the chain sync instead of filling memory.
 */
import { concatMap, Observable } from "rxjs"
import type { ReorgEvent } from "../domain/reorg-event.js"
import type { RelayEventSink, SinkCapabilities } from "./Sink.js"

/** Writes `text`, calling `written` once it was taken (stdout's write callback). */
export type TextWriter = (text: string, written: () => void) => void

const stdoutWriter: TextWriter = (text, written) => void process.stdout.write(text, () => written())

/** The word a printed line starts with. */
export const eventType = (e: ReorgEvent): "apply" | "undo" | "final" => (e._tag === "Apply" ? "apply" : e._tag === "Undo" ? "undo" : "final")

export const printedEventSink = (
  name: string,
  capabilities: SinkCapabilities,
  render: (events: ReadonlyArray<ReorgEvent>) => string,
  write: TextWriter = stdoutWriter
): RelayEventSink<void> => ({
  name,
  capabilities,
  write: concatMap((batch) =>
    new Observable<void>((s) => {
      const done = () => {
        s.next()
        s.complete()
      }
      const text = render(batch.events)
      if (text === "") done()
      else write(text, done)
    })
  )
})
