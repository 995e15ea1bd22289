/**
 * The relay into stdout (`relay --sink cli|jsonl`): the same chain source and reorg operator as
 * the Redis relay, its events written by a printed sink (cli.ts, jsonl.ts) as they come; a credit
 * per input once stdout took it. Such a sink is not resumable (capabilities.ts): no cursor, so it
 * starts at the given point (or the tip) every time.
 */
import { Effect } from "effect"
import { formatPoint, type PointOrOrigin } from "../domain/point.js"
import { redactCredentials } from "../domain/redacted-url.js"
import type { WireFormat } from "../domain/wire-format.js"
import { reconnectCause } from "../ogmios/errors.js"
import type { RelayFrom } from "../relay/relay.js"
import { Ogmios } from "../services/Ogmios.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { chainSync$ } from "../streams/chainSync.js"
import { reorgBatches } from "../streams/reorg.js"
import type { TextRelaySinkKind } from "./capabilities.js"
import { makePrintedEventSink } from "./choose.js"

export interface PrintRelayOptions {
  readonly sink: TextRelaySinkKind
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
    const sink = makePrintedEventSink(options.sink, options.format)
    const start: PointOrOrigin = options.from === "cursor" || options.from === "tip" ? yield* ogmios.queryNetworkTip() : options.from
    yield* Effect.logInfo(`relaying to ${sink.name} after ${formatPoint(start)} (depth ${options.depth})`)
    return yield* Effect.callback<never, unknown>((resume) => {
      const source = chainSync$({
        ...connector.follower("forever"),
        points: [start],
        onReconnect: (info) =>
          process.stderr.write(redactCredentials(`${reconnectCause(info.error)}; reconnecting to ${info.endpoint} in ${info.delayMs} ms\n`))
      })
      const sub = source.pipe(reorgBatches({ depth: options.depth }), sink.write)
        .subscribe({ next: () => source.request(1), error: (e: unknown) => resume(Effect.fail(e)) })
      return Effect.sync(() => sub.unsubscribe())
    })
  })
