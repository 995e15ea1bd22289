/**
 * The WebSocket implementation of the Ogmios service. Queries share one connection, acquired
 * with the layer (the endpoints tried in turn) and closed with it; when it drops, the next query
 * dials the next endpoint (rotation). Opening the connection and every query follow the reconnect
 * schedule (queries are idempotent): a refused connection, a query with no answer or a frame that
 * cannot be read is logged at WARN and tried again on a fresh connection, and once the schedule
 * is exhausted fails with OgmiosUnavailable (exit 10) naming the last cause. `chainSync` opens a
 * socket per stream, because Ogmios keeps one chain-sync cursor per connection and the stream
 * must be free to reconnect and resume on its own.
 */
import { Cause, Effect, Layer, Queue, Schema, Stream } from "effect"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import type { PointOrOrigin } from "../domain/point.js"
import { OgmiosConnection, type ConnectionOptions } from "../ogmios/connection.js"
import { isOgmiosError, MalformedFrame, OgmiosUnavailable, type OgmiosError } from "../ogmios/errors.js"
import {
  follow,
  isReconnectable,
  reconnectDelay,
  reconnectPolicy,
  type ConnectedInfo,
  type ReconnectInfo,
  type ReconnectOptions
} from "../ogmios/follower.js"
import { findIntersectionParams, Method } from "../ogmios/protocol.js"
import {
  BlockHeight,
  EraSummaries,
  Epoch,
  FindIntersectionResult,
  GenesisConfiguration,
  type GenesisConfigurationFor,
  type GenesisEra,
  NetworkTip,
  ShelleyGenesisConfiguration,
  StartTime
} from "../ogmios/schemas.js"
import { Ogmios, type ChainSyncStreamOptions } from "../services/Ogmios.js"

export interface OgmiosLiveOptions extends ConnectionOptions {
  /** ws://host:port, tried in rotation */
  readonly endpoints: ReadonlyArray<string>
  /** default inFlight of `chainSync` streams (default 100) */
  readonly inFlight?: number
  /** reconnect policy of the query connection and of `chainSync` streams */
  readonly reconnect?: ReconnectOptions
  /** called before each chain-sync reconnect; without it each is logged at WARN with its cause */
  readonly onReconnect?: (info: ReconnectInfo) => void
  readonly onConnected?: (info: ConnectedInfo) => void
}

/** Promise -> Effect: typed Ogmios rejections fail, anything else is a defect. */
const fromPromise = <A>(thunk: () => Promise<A>): Effect.Effect<A, OgmiosError> =>
  Effect.callback<A, OgmiosError>((resume) => {
    thunk().then(
      (a) => resume(Effect.succeed(a)),
      (e: unknown) => resume(isOgmiosError(e) ? Effect.fail(e) : Effect.die(e))
    )
  })

const make = (options: OgmiosLiveOptions) =>
  Effect.gen(function*() {
    if (options.endpoints.length === 0) return yield* Effect.die(new RangeError("OgmiosLive needs at least one endpoint"))
    let next = 0
    let current: OgmiosConnection | undefined
    let dialling: Promise<OgmiosConnection> | undefined

    /** One pass over the endpoints, starting after the last one used. */
    const dial = async (): Promise<OgmiosConnection> => {
      let last: unknown
      for (let i = 0; i < options.endpoints.length; i++) {
        const url = options.endpoints[next++ % options.endpoints.length]!
        try {
          return await OgmiosConnection.open(url, options)
        } catch (error) {
          last = error
        }
      }
      throw last
    }

    const connection = (): Promise<OgmiosConnection> => {
      if (current?.isOpen === true) return Promise.resolve(current)
      dialling ??= dial().then(
        (c) => {
          current = c
          dialling = undefined
          return c
        },
        (error: unknown) => {
          dialling = undefined
          throw error
        }
      )
      return dialling
    }

    const policy = reconnectPolicy(options.reconnect)
    /**
     * Runs `attempt` until it succeeds, retrying connection faults with the reconnect schedule on
     * a fresh connection; anything else (an RPC error, a refused intersection) fails at once.
     */
    const withReconnect = <A>(what: string, attempt: (c: OgmiosConnection) => Promise<A>): Effect.Effect<A, OgmiosError> =>
      Effect.gen(function*() {
        for (let failures = 1; ; failures++) {
          let used: OgmiosConnection | undefined
          const outcome = yield* Effect.result(fromPromise(() => connection().then((c) => attempt((used = c)))))
          if (outcome._tag === "Success") return outcome.success
          const error = outcome.failure
          if (!isReconnectable(error)) return yield* Effect.fail(error)
          // a connection that went silent or sent garbage may still be open: never reuse it
          if (used !== undefined && used === current) current = undefined
          used?.close(1000, "reconnecting")
          if (failures > policy.maxAttempts) {
            return yield* Effect.fail(new OgmiosUnavailable({ what, attempts: failures, cause: error.message }))
          }
          const delayMs = reconnectDelay(policy, failures)
          const of = Number.isFinite(policy.maxAttempts) ? `/${policy.maxAttempts}` : ""
          // counted as retries (the first try is not one), as OgmiosUnavailable and the chain sync count them
          yield* Effect.logWarning(`Ogmios: ${error.message}; retrying in ${delayMs} ms (retry ${failures}${of})`)
          yield* Effect.sleep(delayMs)
        }
      })

    // interruptible: a relay waiting forever for its node must still stop on Ctrl-C / SIGTERM
    // (an acquire is uninterruptible by default)
    yield* Effect.acquireRelease(
      Effect.interruptible(withReconnect("connecting", async (c) => c)),
      () => Effect.sync(() => current?.close())
    )

    const query = <S extends Schema.Top & { readonly DecodingServices: never }>(method: string, schema: S, params?: unknown) => {
      const decode = Schema.decodeUnknownResult(schema)
      return withReconnect(method, (c) => c.request(method, params)).pipe(
        Effect.flatMap((result) => {
          const decoded = decode(result)
          return decoded._tag === "Success"
            ? Effect.succeed(decoded.success as S["Type"])
            : Effect.fail(new MalformedFrame({ message: `${method} result: ${decoded.failure.message}`, excerpt: "" }))
        })
      )
    }

    const findIntersection = Effect.fn("Ogmios.findIntersection")(function*(points: ReadonlyArray<PointOrOrigin>) {
      return yield* query(Method.findIntersection, FindIntersectionResult, findIntersectionParams(points))
    })
    const queryNetworkTip = Effect.fn("Ogmios.queryNetworkTip")(function*() {
      return yield* query(Method.queryNetworkTip, NetworkTip)
    })
    const queryNetworkBlockHeight = Effect.fn("Ogmios.queryNetworkBlockHeight")(function*() {
      return yield* query(Method.queryNetworkBlockHeight, BlockHeight)
    })
    const queryNetworkStartTime = Effect.fn("Ogmios.queryNetworkStartTime")(function*() {
      return yield* query(Method.queryNetworkStartTime, StartTime)
    })
    const queryNetworkGenesisConfiguration = Effect.fn("Ogmios.queryNetworkGenesisConfiguration")(
      function*<E extends GenesisEra>(era: E) {
        const schema = era === "shelley" ? ShelleyGenesisConfiguration : GenesisConfiguration
        const result = yield* query(Method.queryNetworkGenesisConfiguration, schema, { era })
        return result as GenesisConfigurationFor<E>
      }
    )
    const queryLedgerStateEpoch = Effect.fn("Ogmios.queryLedgerStateEpoch")(function*() {
      return yield* query(Method.queryLedgerStateEpoch, Epoch)
    })
    const queryLedgerStateEraSummaries = Effect.fn("Ogmios.queryLedgerStateEraSummaries")(function*() {
      return yield* query(Method.queryLedgerStateEraSummaries, EraSummaries)
    })
    const queryLedgerStateTip = Effect.fn("Ogmios.queryLedgerStateTip")(function*() {
      return yield* query(Method.queryLedgerStateTip, NetworkTip)
    })

    const chainSync = (points: ReadonlyArray<PointOrOrigin>, streamOptions: ChainSyncStreamOptions = {}) =>
      Stream.unwrap(Effect.gen(function*() {
        const inFlight = streamOptions.inFlight ?? options.inFlight ?? 100
        // Capacity inFlight is never exceeded: buffered + outstanding <= credits <= inFlight.
        const queue = yield* Queue.bounded<ChainSyncEvent, OgmiosError | Cause.Done>(inFlight)
        const log = Effect.runForkWith(yield* Effect.context<never>())
        const onReconnect = options.onReconnect ?? ((info: ReconnectInfo) => {
          const of = Number.isFinite(info.maxAttempts) ? `/${info.maxAttempts}` : ""
          log(Effect.logWarning(
            `chain sync: ${info.error.message}; reconnecting to ${info.endpoint} in ${info.delayMs} ms ` +
              `(retry ${info.attempt}${of} without a new block)`
          ))
        })
        const follower = yield* Effect.acquireRelease(
          Effect.sync(() =>
            follow({ ...options, points, inFlight, onReconnect, blockText: streamOptions.blockText === true }, {
              event: (event) => {
                if (!Queue.offerUnsafe(queue, event)) {
                  Queue.failCauseUnsafe(queue, Cause.die(new Error("chain-sync credit overflow (bug)")))
                }
              },
              error: (error) => {
                Queue.failCauseUnsafe(queue, Cause.fail(error))
              }
            })
          ),
          (f) => Effect.sync(() => f.close())
        )
        // A pull takes every event waiting (at least one) and returns their credits: credits follow
        // pulls, and whole chunks spare the per-element cost. At most inFlight events wait in the
        // queue plus one chunk being consumed downstream.
        return Stream.fromEffectRepeat(
          Effect.tap(Queue.takeAll(queue), (events) => Effect.sync(() => follower.request(events.length)))
        ).pipe(Stream.flattenArray)
      }))

    return Ogmios.of({
      findIntersection,
      queryNetworkTip,
      queryNetworkBlockHeight,
      queryNetworkStartTime,
      queryNetworkGenesisConfiguration,
      queryLedgerStateEpoch,
      queryLedgerStateEraSummaries,
      queryLedgerStateTip,
      chainSync
    })
  })

export const OgmiosLive = {
  /** Acquires the query connection (failing with ConnectionLost if no endpoint answers). */
  layer: (options: OgmiosLiveOptions): Layer.Layer<Ogmios, OgmiosError> => Layer.effect(Ogmios, make(options))
}
