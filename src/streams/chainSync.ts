/**
 * `chainSync$`: the credit-based chain-sync source as an RxJS Observable with a demand channel.
 *
 * A plain Observable cannot push back, so demand is explicit: each subscription starts with
 * `inFlight` credits and the consumer calls `request(1)` once it has handled an event (e.g. after
 * the sink acked it). With `autoRequest: true` a credit is granted as soon as `next()` returns,
 * which suits synchronous consumers. At most `inFlight` nextBlock requests are ever outstanding,
 * and there is no buffer: a stalled consumer stalls the socket.
 *
 * Each subscription is its own session (its own socket, reconnects and resume window);
 * `request(n)` grants n credits to every live subscription of this Observable (normally one).
 * Unsubscribing closes the socket. The first event is the RollBackward to the initial
 * intersection (see src/ogmios/follower.ts for the reconnect semantics). IntersectionNotFound or
 * an RPC error error the Observable with the typed error; so does a connection fault (a drop, a
 * silent server, a malformed frame) once `reconnect.maxAttempts` reconnects in a row made no
 * progress (never, by default).
 */
import { Observable } from "rxjs"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import { follow, validateFollowerOptions, type Follower, type FollowerOptions } from "../ogmios/follower.js"

export type { ConnectedInfo, ReconnectInfo, ReconnectOptions } from "../ogmios/follower.js"

export interface ChainSyncOptions extends FollowerOptions {
  /** grant one credit as soon as `next()` returns (default false: the consumer calls `request`) */
  readonly autoRequest?: boolean
}

export interface ChainSync$ extends Observable<ChainSyncEvent> {
  /** grants `n` (default 1) more events to the live subscription(s) */
  request(n?: number): void
}

export const chainSync$ = (options: ChainSyncOptions): ChainSync$ => {
  validateFollowerOptions(options)
  const live = new Set<Follower>()
  const events$ = new Observable<ChainSyncEvent>((subscriber) => {
    const follower: Follower = follow(options, {
      event: options.autoRequest === true
        ? (event) => {
          subscriber.next(event)
          follower.request(1)
        }
        : (event) => subscriber.next(event),
      error: (error) => subscriber.error(error)
    })
    live.add(follower)
    return () => {
      live.delete(follower)
      follower.close()
    }
  })
  return Object.assign(events$, {
    request: (n = 1) => {
      for (const follower of live) follower.request(n)
    }
  })
}
