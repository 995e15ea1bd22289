/**
 * The realtime relay: its chain-sync source (`RelayOptions.source`; `ogmiosRelaySource`, i.e.
 * `chainSync$` over Ogmios: credit-based, reconnecting, endpoint rotation) → `reorgBatches` (1:1
 * batches of apply / undo / final, each event with its block's point) → `relaySink` (src/sinks/relay-redis.ts: one atomic
 * RelayStore write per input at the tip, or per group of inputs queued behind the writes in
 * flight when the relay is behind the tip) → `request(1)`. A credit goes back to the source only
 * once the input's write is committed and the consumers are within the backpressure limits, so
 * memory holds at most `inFlight` inputs.
 *
 * Start and restart: the relay claims the prefix (fencing token), reads the cursor, resumes the
 * reorg operator from the stored window and intersects with the cursor's points (the window,
 * newest first, then the final point, then sparse checkpoints). If the chain forked while the
 * relay was down, the intersection is older than the stored tip and the operator emits the
 * undos of the published blocks that left the chain. Redis failures are retried forever; if the
 * stored cursor and the process disagree (RelayResync, e.g. Redis lost its last writes), the
 * session starts over from the stored cursor.
 */
import { Duration, Effect, Schedule } from "effect"
import { type Block, blockHeader } from "../domain/block.js"
import { formatPoint, type Point, type PointOrOrigin, type TipOrOrigin } from "../domain/point.js"
import { InvalidResumeWindow, NonContiguousBlock, RollbackTooDeep, UnknownRollbackPoint } from "../domain/reorg-event.js"
import type { WireFormat } from "../domain/wire-format.js"
import type { ConnectedInfo, ReconnectInfo, ReconnectOptions } from "../ogmios/follower.js"
import { IntersectionNotFound, isOgmiosError, type OgmiosError, reconnectCause } from "../ogmios/errors.js"
import { bestEffortAtStop, RedisError } from "../services/Redis.js"
import { Ogmios } from "../services/Ogmios.js"
import { type ReorgBatch, reorgBatches, type VolatileWindow } from "../streams/reorg.js"
import {
  RelayChainBroken,
  RelayCursorInvalid,
  RelayDepthExceeded,
  RelayFenced,
  RelayPrefixTaken,
  RelayResync,
  RelayStartLost,
  RelayStartNotOnChain
} from "./errors.js"
import { ogmiosRelaySource, type RelaySource } from "./source.js"
import { type RelayCursor, type RelayOp, RelayStore, restartOp } from "./RelayStore.js"
import { retryRedis } from "./retry-redis.js"
import { makeRelayRedisSink, type RelayWriteObserver } from "../sinks/relay-redis.js"

export type RelayFrom = "cursor" | "tip" | "origin" | Point

export interface RelayOptions {
  /**
   * The chain-sync source the relay follows (the CLI and serve pass `ogmiosRelaySource`; a test an
   * in-memory one). Without it, `endpoints` name the Ogmios servers of the live source.
   */
  readonly source?: RelaySource
  /** Ogmios endpoints of the live source, dialled in rotation on every (re)connect (when no `source` is given). */
  readonly endpoints?: ReadonlyArray<string>
  /**
   * Where a fresh relay starts (events begin with the block after it). "cursor" (default):
   * resume the stored cursor, or start at the tip when there is none. Any other value refuses
   * to run over an existing cursor.
   */
  readonly from?: RelayFrom
  /** Height of the `from` point when known (sync passes the epoch's last height). */
  readonly fromHeight?: number
  /**
   * The `from` point is final (sync's seam: the last block of a backfilled epoch), so no rollback
   * may go below it. Default false: a start point is provisional until the first block is final,
   * and a rollback below it undoes what was published and moves the start back.
   */
  readonly fromFinal?: boolean
  /** Finality depth. Default: the stored cursor's, else the network's security parameter k. */
  readonly depth?: number
  /**
   * How the user of this relay sets the depth, named in messages (a command passes its flag).
   * Default: the environment variable and the config file key.
   */
  readonly depthSetting?: string
  /** Block format of the entries. Default: the stored cursor's, else "hecate". */
  readonly format?: WireFormat
  /** nextBlock requests in flight (default 100). */
  readonly inFlight?: number
  /**
   * Most ops (applies, undos, finals) one write groups from the chain-sync messages queued behind
   * the writes in flight (default 256; 1 = one message per write).
   */
  readonly maxBatchOps?: number
  /** Most block bytes one write groups from queued messages (default 8 MiB). */
  readonly maxBatchBytes?: number
  /** Pause while a consumer group of `events`/`final` lags more entries than this (0 = off; default 10 000). */
  readonly maxLag?: number
  /** Pause while XLEN events exceeds this (0 = off, the default). */
  readonly maxLength?: number
  /** Backpressure poll interval (default 200 ms). */
  readonly pollInterval?: Duration.Input
  /** Ogmios request timeout of the live source (when no `source` is given). */
  readonly requestTimeout?: number
  /** Ogmios reconnect policy of the live source (default: never give up, 100 ms .. 5 s). */
  readonly reconnect?: ReconnectOptions
  /** How often the relay stamps its status hash as alive (default 2 s): a reader takes a stale stamp for a dead relay. */
  readonly heartbeatInterval?: Duration.Input
  /** Extra cursor fields written when a fresh cursor is created (the seam of `sync`). */
  readonly initFields?: Readonly<Record<string, string>>
  /**
   * Observes every committed write (after backpressure), e.g. for progress or tests. An Undo's or
   * a Final's block is its header only: the window keeps no more (its content is in `events`).
   */
  readonly onWrite?: RelayWriteObserver
}

export type RelayError =
  | OgmiosError
  | RedisError
  | RelayFenced
  | RelayCursorInvalid
  | RelayDepthExceeded
  | RelayChainBroken
  | RelayPrefixTaken
  | RelayStartNotOnChain
  | InvalidResumeWindow

/**
 * What ends one relay session: a RelayError, or one the relay recovers from with a new session
 * (the cursor moved under it, its start point forked away, a block or rollback that does not fit
 * the chain: retried a few times before it becomes RelayChainBroken).
 */
type SessionError = RelayError | RelayResync | RelayStartLost | NonContiguousBlock | UnknownRollbackPoint

/** Sessions in a row that may meet a block not extending the chain before the relay gives up. */
const CHAIN_ATTEMPTS = 3

/** What a session needs to start, derived from the stored cursor. */
export interface RelayStart {
  readonly cursor: RelayCursor
  /** intersection candidates, newest first */
  readonly points: ReadonlyArray<PointOrOrigin>
  /** the reorg operator's resume window (blocks carry header fields only) */
  readonly resume: VolatileWindow
}

/** Intersection points and the reorg resume window of a stored cursor. */
export const relayStart = (cursor: RelayCursor): RelayStart => {
  const finalPoint = cursor.final.point
  const blocks: Array<Block> = cursor.window.map((e, i) => ({
    type: "praos",
    era: "",
    id: e.hash,
    ancestor: i === 0 ? (finalPoint === "origin" ? "genesis" : finalPoint.id) : cursor.window[i - 1]!.hash,
    height: e.height,
    slot: e.slot
  }))
  const points: Array<PointOrOrigin> = []
  for (let i = cursor.window.length - 1; i >= 0; i--) points.push({ slot: cursor.window[i]!.slot, id: cursor.window[i]!.hash })
  points.push(finalPoint)
  for (const c of cursor.checkpoints) points.push(c.point)
  return {
    cursor,
    points,
    resume: { final: { point: finalPoint, height: cursor.final.height, provisional: cursor.final.provisional }, blocks }
  }
}

/**
 * Runs the relay until interrupted or a fatal error (RelayFenced, RelayCursorInvalid,
 * RelayDepthExceeded, IntersectionNotFound, a protocol error). Needs the RelayStore and an Ogmios
 * service for the tip / genesis queries of a fresh start.
 */
export const relay = (options: RelayOptions) =>
  Effect.gen(function*() {
    const store = yield* RelayStore
    const ogmios = yield* Ogmios
    const context = yield* Effect.context<never>()
    const run = Effect.runForkWith(context)
    const from = options.from ?? "cursor"
    const log = (effect: Effect.Effect<void>) => void run(effect)
    const depthSetting = options.depthSetting ?? DEFAULT_DEPTH_SETTING
    const follow: RelaySource = options.source ?? (options.endpoints !== undefined
      ? ogmiosRelaySource({
        endpoints: options.endpoints,
        ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
        ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect })
      })
      : yield* Effect.die(new Error("relay(): pass a chain-sync source (options.source) or the Ogmios endpoints of the live one")))

    // once this process created or resumed the cursor, a new session (after a resync, a broken
    // block, a lost start) resumes it whatever `from` said
    let established = false
    const establish = Effect.gen(function*() {
      const fresh = from !== "cursor" && !established
      // A fresh start only reads: claiming would bump the fencing token and stop the relay that
      // owns the prefix, and a fresh start never takes a prefix over.
      const claimed = fresh
        ? yield* retryRedis(store.read(), "reading the relay cursor")
        : yield* retryRedis(store.claim(), "reading the relay cursor")
      if (claimed !== undefined) {
        if (fresh) {
          return yield* Effect.fail(new RelayPrefixTaken({
            prefix: store.keys.prefix,
            detail: `its cursor is at write ${claimed.seq}, final point ${formatPoint(claimed.final.point)}; ` +
              `--from ${typeof from === "string" ? from : formatPoint(from)} would fork the published stream`
          }))
        }
        if (options.format !== undefined && options.format !== claimed.format) {
          return yield* Effect.fail(new RelayCursorInvalid({
            prefix: store.keys.prefix,
            detail: `its entries are in the ${claimed.format} format, not ${options.format}: one stream never mixes formats`,
            settings: true
          }))
        }
        const depth = options.depth ?? claimed.depth
        if (claimed.window.length > depth) {
          return yield* Effect.fail(new RelayCursorInvalid({
            prefix: store.keys.prefix,
            detail: `its volatile window holds ${claimed.window.length} blocks, more than the relay depth ${depth}: use a depth of at least ${claimed.window.length} (${depthSetting})`,
            settings: true
          }))
        }
        established = true
        yield* Effect.logInfo(
          `resuming relay ${store.keys.prefix} at write ${claimed.seq}: ${claimed.window.length} volatile blocks above ` +
            `${formatPoint(claimed.final.point)}${claimed.window.length > 0 ? `, tip height ${claimed.window.at(-1)!.height}` : ""}`
        )
        return { cursor: claimed, depth }
      }
      const depth = options.depth ?? (yield* ogmios.queryNetworkGenesisConfiguration("shelley")).securityParameter
      let start: PointOrOrigin
      let height: number | null = options.fromHeight ?? null
      if (from === "cursor" || from === "tip") {
        const tip = yield* ogmios.queryNetworkTip()
        start = tip === "origin" ? "origin" : { slot: tip.slot, id: tip.id }
        height = null // a Point carries no height; the first final block sets it
      } else start = from
      const cursor = yield* retryRedis(
        store.init({
          start,
          height,
          depth,
          format: options.format ?? "hecate",
          provisional: start === "origin" || options.fromFinal !== true,
          // how it started: only a tip may be given up for the node's new tip when it forks away
          extra: { ...options.initFields, start_kind: from === "cursor" || from === "tip" ? "tip" : from === "origin" ? "origin" : "point" }
        }),
        "creating the relay cursor"
      )
      established = true
      yield* Effect.logInfo(`new relay under ${store.keys.prefix}, events start after ${formatPoint(start)} (depth ${depth}, format ${cursor.format})`)
      return { cursor, depth }
    })

    // writes committed, to tell a fault that repeats at one point from one the relay got past
    let written = 0
    let brokenAt: { readonly written: number; attempts: number } | undefined
    const session = Effect.gen(function*() {
      const { cursor, depth } = yield* establish
      const start = relayStart(cursor)
      // EBB points depend on the network's Byron epoch length: that of its first era summary
      const byronEpochLength = (yield* ogmios.queryLedgerStateEraSummaries())[0]?.parameters.epochLength
      yield* store.setStatus({ state: "connecting", since_ms: Date.now(), prefix: store.keys.prefix }).pipe(Effect.ignore)
      return yield* Effect.callback<never, SessionError>((resume) => {
        const source = follow({
          points: start.points,
          inFlight: options.inFlight ?? 100,
          ...(byronEpochLength === undefined ? {} : { byronEpochLength }),
          onReconnect: (info: ReconnectInfo) =>
            log(Effect.logWarning(
              `${reconnectCause(info.error)}; reconnecting to ${info.endpoint} in ${info.delayMs} ms (retry ${info.attempt})`
            ).pipe(
              Effect.andThen(store.setStatus({ state: "reconnecting", since_ms: Date.now(), endpoint: info.endpoint, reconnect_cause: info.error.message })),
              Effect.andThen(store.incrMetric("reconnects")),
              Effect.ignore
            )),
          onConnected: (info: ConnectedInfo) =>
            log(Effect.logInfo(
              `${info.resumed ? "reconnected to" : "following"} ${info.endpoint} from ${formatPoint(info.intersection)} ` +
                `(node tip ${info.tip === "origin" ? "origin" : `height ${info.tip.height}`})`
            ).pipe(
              Effect.andThen(store.setStatus({ state: "following", since_ms: Date.now(), endpoint: info.endpoint })),
              Effect.ignore
            ))
        })
        const subscription = source.pipe(
          // the window keeps headers only: an undo or final entry is copied in Redis from the apply
          // entry, so a block's frame and offsets are freed once its write is sent
          reorgBatches({ depth, resume: start.resume, windowBlock: blockHeader, ...(byronEpochLength === undefined ? {} : { byronEpochLength }) }),
          makeRelayRedisSink({
            store,
            producer: cursor.producer,
            seq: cursor.seq,
            format: cursor.format,
            ...(options.maxLag === undefined ? {} : { maxLag: options.maxLag }),
            ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
            ...(options.pollInterval === undefined ? {} : { pollInterval: options.pollInterval }),
            ...(options.maxBatchOps === undefined ? {} : { maxBatchOps: options.maxBatchOps }),
            ...(options.maxBatchBytes === undefined ? {} : { maxBatchBytes: options.maxBatchBytes }),
            onWrite: (info) => {
              written++
              options.onWrite?.(info)
            }
          }, context).write
        ).subscribe({
          next: () => source.request(1),
          error: (error: unknown) => {
            const known = classify(error, store.keys.prefix, start, depthSetting)
            resume(known === undefined ? Effect.die(error) : Effect.fail(known)) // anything else is a bug
          }
        })
        return Effect.sync(() => subscription.unsubscribe())
      })
    })

    // The chain forked below the start of a relay that has finalised nothing, while it was down:
    // undo every published block and start over at the node's tip (one atomic write).
    const restartAtTip = Effect.gen(function*() {
      const cursor = yield* retryRedis(store.claim(), "reading the relay cursor")
      if (cursor === undefined || !cursor.final.provisional) return
      const tip = yield* ogmios.queryNetworkTip()
      const point: PointOrOrigin = tip === "origin" ? "origin" : { slot: tip.slot, id: tip.id }
      const ops: Array<RelayOp> = cursor.window.map((e): RelayOp => ({ _tag: "U", hash: e.hash })).reverse()
      ops.push(restartOp(point))
      yield* retryRedis(store.write(cursor.seq + 1, cursor.producer, ops, undefined), `relay write ${cursor.seq + 1}`)
      yield* Effect.logWarning(
        `the node's chain no longer holds the relay's start point ${formatPoint(cursor.final.point)} nor any of its ` +
          `${cursor.window.length} published blocks, and none was final: undid them and restarted at the node's tip ${formatPoint(point)}`
      )
    })

    // The node came back behind the cursor (restarted from an older state, or still syncing): its
    // tip is below the cursor's final point, so an intersection reads as a rollback past a final
    // block or as no intersection at all. That is not a fork: nothing is written, the relay waits
    // for the node's tip to reach the cursor's newest block again and resumes from the cursor. A
    // node whose tip is at or above the final point and still lacks it forked away: the error stands.
    const nodeTip = Effect.gen(function*() {
      const tip = yield* ogmios.queryNetworkTip()
      const height = yield* ogmios.queryNetworkBlockHeight()
      return { slot: tip === "origin" ? -1 : tip.slot, height: height === "origin" ? -1 : height }
    })
    type Position = { readonly slot: number; readonly height: number | null }
    const below = (node: { readonly slot: number; readonly height: number }, at: Position) =>
      at.height !== null ? node.height < at.height : node.slot < at.slot
    const describePosition = (at: Position) => at.height === null ? `slot ${at.slot}` : `height ${at.height} at slot ${at.slot}`
    const waitForNodeBehind = (error: RelayDepthExceeded | RelayCursorInvalid): Effect.Effect<void, RelayError> =>
      Effect.gen(function*() {
        const cursor = yield* retryRedis(store.read(), "reading the relay cursor")
        if (cursor === undefined || cursor.final.provisional) return yield* Effect.fail(error)
        const finalPoint = cursor.final.point
        const final: Position = { slot: finalPoint === "origin" ? -1 : finalPoint.slot, height: cursor.final.height }
        const newest = cursor.window.at(-1)
        const top: Position = newest === undefined ? final : { slot: newest.slot, height: newest.height }
        let node = yield* nodeTip
        if (!below(node, final)) return yield* Effect.fail(error)
        yield* Effect.logWarning(
          `the node is behind the relay (node tip ${describePosition(node)}, cursor at ${describePosition(top)}): waiting for it to catch up`
        )
        yield* store.setStatus({ state: "waiting for the node", since_ms: Date.now(), node_tip_height: node.height }).pipe(Effect.ignore)
        // asked again after 250 ms, doubling up to the reconnect cap, until it reached the cursor's top
        const maxDelay = options.reconnect?.maxDelay ?? 5_000
        const untilCaughtUp = Schedule.min([Schedule.exponential(Duration.millis(Math.min(250, maxDelay))), Schedule.spaced(Duration.millis(maxDelay))]).pipe(
          Schedule.setInputType<typeof node>(),
          Schedule.passthrough,
          Schedule.while(({ input }) => below(input, top))
        )
        node = yield* Effect.scheduleFrom(nodeTip, node, untilCaughtUp)
        yield* Effect.logInfo(`the node caught up (node tip ${describePosition(node)}): resuming from the cursor`)
      })

    const recover = (error: SessionError): Effect.Effect<void, RelayError> => {
      switch (error._tag) {
        case "RelayDepthExceeded":
          return waitForNodeBehind(error)
        case "RelayCursorInvalid":
          return error.notOnChain === true ? waitForNodeBehind(error) : Effect.fail(error)
        case "RelayResync":
          return Effect.logWarning(`${error.message}: restarting from the stored cursor`).pipe(
            Effect.andThen(store.incrMetric("resyncs").pipe(Effect.ignore))
          )
        case "RelayStartLost":
          // a cursor that moved meanwhile: the next session reads it again
          return restartAtTip.pipe(Effect.catchTag("RelayResync", (e) => Effect.logWarning(`${e.message}: restarting from the stored cursor`)))
        case "RelayStartNotOnChain":
          // nothing was written: remove the cursor, so the prefix is fresh for the right point
          return retryRedis(store.discardFresh(), "removing the unused relay cursor").pipe(Effect.andThen(Effect.fail(error)))
        case "NonContiguousBlock":
        case "UnknownRollbackPoint": {
          // a block that does not verify is never written; a fresh session from the stored cursor
          // gets past a fault in transit, one that repeats at the same point ends the relay
          const at = brokenAt !== undefined && brokenAt.written === written ? brokenAt : { written, attempts: 0 }
          brokenAt = at
          at.attempts++
          if (at.attempts >= CHAIN_ATTEMPTS) {
            return Effect.fail(new RelayChainBroken({ prefix: store.keys.prefix, detail: error.message, attempts: at.attempts }))
          }
          return Effect.logWarning(
            `Ogmios sent ${error._tag === "NonContiguousBlock" ? "a block that does not extend the chain" : "a rollback to a point that is not on the chain"} ` +
              `(${error.message}); nothing of it was written: reconnecting from the stored cursor (attempt ${at.attempts} of ${CHAIN_ATTEMPTS})`
          ).pipe(Effect.andThen(store.incrMetric("invalid_blocks").pipe(Effect.ignore)))
        }
        default:
          return Effect.fail(error)
      }
    }

    // The status hash outlives the process: a stamp refreshed while the relay runs lets a reader
    // (status, the dashboard) tell a relay that follows from one killed while it followed.
    const every = Duration.toMillis(Duration.fromInputUnsafe(options.heartbeatInterval ?? HEARTBEAT_INTERVAL))
    yield* Effect.suspend(() => store.setStatus({ heartbeat_ms: Date.now(), heartbeat_every_ms: every })).pipe(
      Effect.ignore,
      Effect.andThen(Effect.sleep(Duration.millis(every))),
      Effect.forever,
      Effect.forkChild
    )
    return yield* session.pipe(
      Effect.catch(recover),
      Effect.forever,
      // a stop (signal or fatal error) says so, rather than leaving the last state standing
      Effect.onExit(() =>
        Effect.suspend(() => store.setStatus({ state: "stopped", since_ms: Date.now(), heartbeat_ms: Date.now() })).pipe(bestEffortAtStop())
      )
    )
  })

/** How often a running relay stamps its status hash (`heartbeat_ms`). */
export const HEARTBEAT_INTERVAL = "2 seconds"

/** How the depth is set when the caller names nothing else (serve has no --depth flag). */
const DEFAULT_DEPTH_SETTING = "HECATE_RELAY_DEPTH, or relay.depth in the config file"

/** The session error behind a failure of the pipeline; undefined for anything unexpected (a defect). */
const classify = (error: unknown, prefix: string, start: RelayStart, depthSetting: string): SessionError | undefined => {
  if (error instanceof RollbackTooDeep) return new RelayDepthExceeded({ prefix, detail: error.message, setting: depthSetting })
  if (error instanceof IntersectionNotFound) {
    const kind = start.cursor.fields["start_kind"] ?? "tip"
    if (start.cursor.final.provisional && kind === "tip") return new RelayStartLost({ detail: error.message })
    if (start.cursor.final.provisional && kind === "point" && start.cursor.seq === 0) {
      const point = start.cursor.final.point
      return new RelayStartNotOnChain({ prefix, point: point === "origin" ? "origin" : formatPoint(point), detail: error.message })
    }
    return new RelayCursorInvalid({
      prefix,
      notOnChain: true,
      detail: `none of its ${start.points.length} intersection points (newest ${formatPoint(start.points[0] ?? "origin")}) is on the ` +
        `node's chain: is this the same network? (${error.message})`
    })
  }
  if (
    isOgmiosError(error) || error instanceof RedisError || error instanceof RelayFenced || error instanceof RelayResync ||
    error instanceof NonContiguousBlock || error instanceof UnknownRollbackPoint || error instanceof InvalidResumeWindow
  ) return error
  return undefined
}
