/**
 * `consume$`: the chain as one sequence from Hecate's Redis keys, as an RxJS Observable with
 * credit-based demand, and `consumeStream`, the same as an Effect Stream.
 *
 * Demand works like `chainSync$`'s `request`, with the credit carried by the item: a
 * subscription starts with `inFlight` credits, each emitted item takes one, and its `ack()` gives
 * it back once the acknowledgement is committed in Redis (XACK, in emission order). So at most
 * `inFlight` items are handed out and unacknowledged, and at most one read's worth of entries
 * (`historyCount` / `eventsCount`) is held in memory: a handler that does not ack stalls the
 * reads, never grows a buffer. Nothing is acknowledged in Redis before the handler acks: what a
 * stopped or crashed consumer held comes back (to the same consumer name at once, to another one
 * of the group after `claimIdleMs`).
 *
 * Each subscription reads on its own duplicate of `redis` (it blocks in XREADGROUP BLOCK) and
 * acknowledges on `redis` itself; unsubscribing stops reading (acks already called still commit).
 */
import { Effect, Queue, Stream } from "effect"
import type { Redis } from "ioredis"
import { Observable } from "rxjs"
import { ChainReader, type ChainReaderOptions, checkNames, type RawApply, type RawFinal, type RawUndo } from "./chain.js"
import { ConsumerError } from "./errors.js"

export interface ConsumeOptions extends Omit<ChainReaderOptions, "redis" | "control"> {
  /** an ioredis connection (acknowledgements use it; reads use a duplicate of it) */
  readonly redis: Redis
  /** items handed out and not acknowledged at most (default 16) */
  readonly inFlight?: number
}

export interface Ack {
  /**
   * Acknowledges the item: call it after your own commit of its effect. Idempotent. Acks are
   * committed to Redis in the order they are called; ack in the order of the items. The promise
   * (which never rejects) is true once the acknowledgement is committed in Redis, false if the
   * subscription failed first (its error says why): await it before stopping when the item
   * must not come again.
   */
  ack(): Promise<boolean>
}
export type Apply = RawApply & Ack
export type Undo = RawUndo & Ack
export type Final = RawFinal & Ack
export type ChainItem = Apply | Undo | Final

const asConsumerError = (error: unknown): ConsumerError =>
  error instanceof ConsumerError ? error : new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })

/**
 * The acknowledgements called on each connection and not committed yet. A subscription's reads
 * start after those of earlier subscriptions on the same connection: a session that stopped
 * right after acking (unsubscribing does not cancel its acks) and is started again at once must
 * not be handed the same items as still pending, before its own acks reached Redis.
 */
const outstanding = new WeakMap<Redis, Promise<void>>()

export const consume$ = (options: ConsumeOptions): Observable<ChainItem> => {
  // options a subscription could never use fail here, at the call, not later as the stream's error
  checkNames(options)
  if (!((options.inFlight ?? 16) >= 1)) throw new RangeError(`consume: inFlight must be at least 1 (got ${options.inFlight})`)
  return new Observable<ChainItem>((subscriber) => {
    let credits = options.inFlight ?? 16
    const reads = options.redis.duplicate()
    // an outage takes both connections down: reporting it is the caller's connection's job, and a
    // command that fails meanwhile fails the subscription; without a listener ioredis prints an
    // "Unhandled error event" with its stack for every reconnect attempt of this one
    reads.on("error", () => {})
    const reader = new ChainReader({ ...options, redis: reads, control: options.redis })
    let closed = false
    let pumping = false
    const earlier = outstanding.get(options.redis) ?? Promise.resolve()
    let commits: Promise<void> = earlier
    // once a commit failed, no later one is attempted: acknowledgements stay a prefix of the
    // sequence (a durable sink relies on it to find what it wrote and Redis does not know)
    let commitFailed = false
    const fail = (error: unknown) => {
      if (closed) return
      closed = true
      reader.close()
      subscriber.error(asConsumerError(error))
    }
    const pump = async (): Promise<void> => {
      if (pumping) return
      pumping = true
      try {
        await earlier
        while (!closed && credits > 0) {
          const next = await reader.next()
          if (next === undefined || closed) break
          credits -= 1
          let acked: Promise<boolean> | undefined
          const ack = (): Promise<boolean> => {
            acked ??= new Promise<boolean>((resolve) => {
              commits = commits.then(() => {
                if (commitFailed) return resolve(false)
                return next.commit().then(() => {
                  credits += 1
                  resolve(true)
                  void pump()
                }, (error: unknown) => {
                  commitFailed = true
                  fail(error)
                  resolve(false)
                })
              })
            })
            const before = outstanding.get(options.redis)
            outstanding.set(options.redis, before === undefined ? commits : Promise.all([before, commits]).then(() => undefined))
            return acked
          }
          subscriber.next({ ...next.item, ack } as ChainItem)
        }
      } catch (error) {
        fail(error)
      } finally {
        pumping = false
      }
    }
    void pump()
    return () => {
      closed = true
      reader.close()
      // a read blocked in XREADGROUP ends with the connection; entries it was given stay pending
      // for this consumer name and are read again first by its next subscription
      reads.disconnect()
    }
  })
}

/** `consume$` as an Effect Stream: the same items, each with its `ack`. */
export const consumeStream = (options: ConsumeOptions): Stream.Stream<ChainItem, ConsumerError> =>
  Stream.callback<ChainItem, ConsumerError>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        consume$(options).subscribe({
          next: (item) => {
            Queue.offerUnsafe(queue, item)
          },
          error: (error: unknown) => {
            Effect.runFork(Queue.fail(queue, asConsumerError(error)))
          },
          complete: () => {
            Queue.endUnsafe(queue)
          }
        })
      ),
      (subscription) => Effect.sync(() => subscription.unsubscribe())
    )
  )

/**
 * Registers `group` without reading: in the registry of the history (so every consumer creates
 * it on each epoch it opens), and on `events`/`final` at 0. Run it for every group before the
 * producer starts (or before any group acknowledges anything), so the producer's cleanup never
 * takes an epoch a registered group has not read, and the relay keeps what the group has not.
 */
export const registerGroup = (options: Omit<ConsumeOptions, "consumer" | "inFlight">): Promise<void> =>
  new ChainReader({ ...options, consumer: "register", redis: options.redis }).register()
