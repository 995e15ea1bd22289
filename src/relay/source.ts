/**
 * What the relay follows: a credit-based chain-sync source, opened once per relay session from the
 * stored cursor's intersection points. The live one dials Ogmios (`ogmiosRelaySource`); a test
 * passes an in-memory one (`hecate/testing`'s `MemoryChain`), so the relay runs with no socket.
 */
import type { PointOrOrigin } from "../domain/point.js"
import { type ChainSync$, chainSync$, type ConnectedInfo, type ReconnectInfo, type ReconnectOptions } from "../streams/chainSync.js"

export interface RelaySourceRequest {
  /** intersection candidates, newest first */
  readonly points: ReadonlyArray<PointOrOrigin>
  /** events granted before the first `request` */
  readonly inFlight: number
  /** slots per Byron epoch, for the resume points of EBBs after a reconnect */
  readonly byronEpochLength?: number
  readonly onReconnect?: (info: ReconnectInfo) => void
  readonly onConnected?: (info: ConnectedInfo) => void
}

/**
 * Opens one session: the first event is the RollBackward to the first of `points` on the chain,
 * then an event per credit (`request(n)`); IntersectionNotFound errors it when none is.
 */
export type RelaySource = (request: RelaySourceRequest) => ChainSync$

export interface OgmiosRelaySourceOptions {
  /** Ogmios endpoints, dialled in rotation on every (re)connect */
  readonly endpoints: ReadonlyArray<string>
  readonly requestTimeout?: number
  /** reconnect policy (default: never give up, 100 ms .. 5 s) */
  readonly reconnect?: ReconnectOptions
}

/**
 * The live source: `chainSync$` over Ogmios, reconnecting and resuming on its own. The relay only
 * verifies headers and writes blocks out again, so its blocks keep their frame text
 * (src/domain/block-text.ts): no parse and re-stringify of every block on the way to Redis, and
 * the window of recent blocks holds a header and a string each, not an object graph.
 */
export const ogmiosRelaySource = (options: OgmiosRelaySourceOptions): RelaySource => (request) =>
  chainSync$({
    endpoints: options.endpoints,
    blockText: true,
    points: request.points,
    inFlight: request.inFlight,
    ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
    reconnect: options.reconnect ?? { initialDelay: 100, maxDelay: 5_000 },
    ...(request.byronEpochLength === undefined ? {} : { resumePoints: { byronEpochLength: request.byronEpochLength } }),
    ...(request.onReconnect === undefined ? {} : { onReconnect: request.onReconnect }),
    ...(request.onConnected === undefined ? {} : { onConnected: request.onConnected })
  })
