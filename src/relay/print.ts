/**
 * The relay into stdout (`relay --sink cli|jsonl`): the same chain source and reorg operator as
 * the Redis relay, its events printed as they come; a credit per input once stdout took it, so a
 * slow reader slows the chain sync instead of filling memory. No cursor: it starts at the given
 * point (or the tip) every time.
 */
import { Effect } from "effect"
import { concatMap, Observable } from "rxjs"
import { blockSlot } from "../domain/block.js"
import { formatPoint, type PointOrOrigin } from "../domain/point.js"
import { redactCredentials } from "../domain/redacted-url.js"
import type { ReorgEvent } from "../domain/reorg-event.js"
import { encodeBlock, type WireFormat } from "../domain/wire-format.js"
import { reconnectCause } from "../ogmios/errors.js"
import { Ogmios } from "../services/Ogmios.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { chainSync$ } from "../streams/chainSync.js"
import { reorg } from "../streams/reorg.js"
import type { RelayFrom } from "./relay.js"

export type PrintedRelaySink = "cli" | "jsonl"

/** Relay events as lines: a table row each (cli), or one JSON object each with the block (jsonl). */
export const printEvents = (sink: PrintedRelaySink, format: WireFormat, events: ReadonlyArray<ReorgEvent>): string => {
  let out = ""
  for (const e of events) {
    const type = e._tag === "Apply" ? "apply" : e._tag === "Undo" ? "undo" : "final"
    const slot = blockSlot(e.block)
    if (sink === "jsonl") {
      out += `{"type":"${type}","slot":${slot},"height":${e.block.height},"hash":"${e.block.id}","era":"${e.block.era}","block":${encodeBlock(e.block, format)}}\n`
    } else {
      out += `${type.padEnd(5)} ${String(e.block.height).padStart(9)} ${String(slot).padStart(10)} ${e.block.id} ${e.block.era}\n`
    }
  }
  return out
}

export interface PrintRelayOptions {
  readonly sink: PrintedRelaySink
  /** "cursor" and "tip" both start at the node's tip (there is no cursor to resume) */
  readonly from: RelayFrom
  readonly depth: number
  readonly format: WireFormat
}

/** Follows the chain (reconnecting forever, as the relay does) and prints its events on stdout. */
export const printRelay = (options: PrintRelayOptions) =>
  Effect.gen(function*() {
    const ogmios = yield* Ogmios
    const connector = yield* OgmiosConnector
    const start: PointOrOrigin = options.from === "cursor" || options.from === "tip" ? yield* ogmios.queryNetworkTip() : options.from
    yield* Effect.logInfo(`relaying to ${options.sink} after ${formatPoint(start)} (depth ${options.depth})`)
    return yield* Effect.callback<never, unknown>((resume) => {
      const source = chainSync$({
        ...connector.follower("forever"),
        points: [start],
        onReconnect: (info) =>
          process.stderr.write(redactCredentials(`${reconnectCause(info.error)}; reconnecting to ${info.endpoint} in ${info.delayMs} ms\n`))
      })
      const sub = source.pipe(
        reorg({ depth: options.depth }),
        concatMap((batch) =>
          new Observable<void>((s) => {
            const text = printEvents(options.sink, options.format, batch)
            if (text === "") {
              s.next()
              s.complete()
            } else {
              process.stdout.write(text, () => {
                s.next()
                s.complete()
              })
            }
          })
        )
      ).subscribe({ next: () => source.request(1), error: (e: unknown) => resume(Effect.fail(e)) })
      return Effect.sync(() => sub.unsubscribe())
    })
  })
