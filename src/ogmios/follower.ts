/**
 * The credit-based, reconnecting chain-sync engine behind `chainSync$` (RxJS) and
 * `Ogmios.chainSync` (Effect Stream). No RxJS, no Effect: plain callbacks on the hot path.
 *
 * Credit. The consumer holds `credits` (initially `inFlight`, +n per `request(n)`, -1 per event
 * delivered). A `nextBlock` is sent only while outstanding < min(inFlight, credits), so every
 * reply has a credit waiting and is delivered at once: there is no buffer here at all. A stalled
 * consumer stops the requests, the server stops answering, and the socket goes quiet.
 *
 * Reconnect. On a connection fault (close, dead peer, timeout, a frame that cannot be read) the
 * outstanding requests are void; credits are kept. Attempts are counted by progress: only a new
 * block delivered resets the count, so a fault that repeats at the same point (a frame over the
 * size limit, a server that closes mid-frame or stops answering there) gives up after
 * `reconnect.maxAttempts` instead of reconnecting forever. After a capped, jittered exponential
 * backoff the next endpoint is dialled and findIntersection is sent with the points *delivered* so
 * far (ResumePoints, newest first), then the original points. The server's first reply is a
 * backward to the intersection: when that is exactly the consumer's position it is swallowed (a
 * confirmation, not a rollback);
 * when it is older, it is delivered as a RollBackward, which is what it is for the consumer.
 * Either way nothing is skipped or repeated across the drop.
 *
 * Initial intersection. The first backward after the *initial* findIntersection is delivered as a
 * RollBackward to the intersection (the server always sends it): it tells the consumer where the
 * stream starts; the reorg operator downstream knows that a rollback to its own start is no reorg.
 */
import { Schema } from "effect"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import { samePoint, type PointOrOrigin } from "../domain/point.js"
import { isTransient, MalformedFrame, noAnswer, type ConnectionLost, type OgmiosError, type RequestTimeout } from "./errors.js"
import { OgmiosConnection, type ConnectionOptions } from "./connection.js"
import { decodeNextBlock, isErrorFrame, type ResponseFrame } from "./frame.js"
import { findIntersectionParams, fromRpcError, Method } from "./protocol.js"
import { ResumePoints, type ResumePointsOptions } from "./resumePoints.js"
import { FindIntersectionResult } from "./schemas.js"

export interface ReconnectOptions {
  /** first delay, ms (default 100) */
  readonly initialDelay?: number
  /** cap, ms (default 10 000) */
  readonly maxDelay?: number
  /** growth per attempt (default 2) */
  readonly factor?: number
  /** +/- fraction of randomisation (default 0.2) */
  readonly jitter?: number
  /**
   * Reconnects without progress before giving up (default Infinity: never). Progress is a new
   * block delivered: a connection that fails again before one counts as a failed attempt, so a
   * fault that repeats at the same point ends after this many reconnects.
   */
  readonly maxAttempts?: number
}

/** The reconnect policy with its defaults filled in. */
export const reconnectPolicy = (options: ReconnectOptions = {}) => ({
  initialDelay: options.initialDelay ?? 100,
  maxDelay: options.maxDelay ?? 10_000,
  factor: options.factor ?? 2,
  jitter: options.jitter ?? 0.2,
  maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY
})

/** The delay before reconnect `attempt` (1-based): capped, jittered exponential backoff. */
export const reconnectDelay = (policy: ReturnType<typeof reconnectPolicy>, attempt: number): number => {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** (attempt - 1))
  return Math.max(0, Math.round(base * (1 - policy.jitter + 2 * policy.jitter * Math.random())))
}

/** Failures a fresh connection may cure: a lost or silent connection, or a frame we could not read. */
export const isReconnectable = (error: OgmiosError): error is ConnectionLost | RequestTimeout | MalformedFrame =>
  isTransient(error) || error._tag === "MalformedFrame"

export interface ReconnectInfo {
  /** failed attempts since the last progress (1 for the first reconnect) */
  readonly attempt: number
  /** the policy's maxAttempts (Infinity: never gives up) */
  readonly maxAttempts: number
  readonly delayMs: number
  /** the endpoint that will be dialled next */
  readonly endpoint: string
  readonly error: ConnectionLost | RequestTimeout | MalformedFrame
}

export interface ConnectedInfo {
  readonly endpoint: string
  readonly intersection: PointOrOrigin
  readonly tip: FindIntersectionResult["tip"]
  /** true when this connection resumed a session (a reconnect) */
  readonly resumed: boolean
}

export interface FollowerOptions extends ConnectionOptions {
  /** Ogmios endpoints (ws://host:port), dialled in rotation on every (re)connect */
  readonly endpoints: ReadonlyArray<string>
  /** intersection candidates, newest first */
  readonly points: ReadonlyArray<PointOrOrigin>
  /** most nextBlock requests outstanding, and the initial credit (default 100) */
  readonly inFlight?: number
  readonly reconnect?: ReconnectOptions
  readonly resumePoints?: ResumePointsOptions
  /**
   * Deliver forward blocks as header-only Blocks that keep their frame text (src/domain/block-text.ts),
   * for a consumer that only verifies headers and writes blocks out with `encodeBlock` (default false).
   */
  readonly blockText?: boolean
  /** called before each reconnect delay */
  readonly onReconnect?: (info: ReconnectInfo) => void
  /** called after each successful findIntersection */
  readonly onConnected?: (info: ConnectedInfo) => void
}

export interface FollowerSink {
  readonly event: (event: ChainSyncEvent) => void
  readonly error: (error: OgmiosError) => void
}

export interface FollowerState {
  readonly phase: "connecting" | "intersecting" | "syncing" | "waiting" | "closed"
  readonly credits: number
  readonly outstanding: number
  readonly delivered: number
  readonly connections: number
  readonly atTip: boolean
}

export interface Follower {
  /** grants `n` more events */
  readonly request: (n?: number) => void
  /** stops: closes the socket, cancels any pending reconnect; no further callbacks */
  readonly close: () => void
  readonly state: () => FollowerState
}

const decodeIntersection = Schema.decodeUnknownResult(FindIntersectionResult)

export const validateFollowerOptions = (options: FollowerOptions): void => {
  if (options.endpoints.length === 0) throw new RangeError("chain sync needs at least one endpoint")
  const inFlight = options.inFlight ?? 100
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`inFlight must be a positive integer, got ${inFlight}`)
}

export const follow = (options: FollowerOptions, sink: FollowerSink): Follower => {
  validateFollowerOptions(options)
  const inFlight = options.inFlight ?? 100
  const batch = Math.max(1, Math.floor(inFlight / 10))
  const requestTimeout = options.requestTimeout ?? 30_000
  const backoff = reconnectPolicy(options.reconnect)
  const window = new ResumePoints(options.resumePoints)

  let phase: FollowerState["phase"] = "connecting"
  let conn: OgmiosConnection | undefined
  let credits = inFlight
  let outstanding = 0
  let delivered = 0
  let connections = 0
  let endpointIndex = 0
  let failures = 0
  /** swallow the first reply if it only confirms the point we resumed from */
  let confirming: PointOrOrigin | undefined
  let atTip = false
  let lastProgress = 0
  let retryTimer: NodeJS.Timeout | undefined

  // Below the tip a silent server is a fault; at the tip silence is normal (no timeout there).
  const watchdog = requestTimeout > 0 && Number.isFinite(requestTimeout)
    ? setInterval(() => {
      if (phase !== "syncing" || outstanding === 0 || atTip || conn === undefined) return
      if (performance.now() - lastProgress > requestTimeout) {
        drop(noAnswer(Method.nextBlock, requestTimeout))
      }
    }, Math.max(10, Math.min(1000, requestTimeout / 4)))
    : undefined

  const stop = () => {
    phase = "closed"
    if (watchdog !== undefined) clearInterval(watchdog)
    if (retryTimer !== undefined) clearTimeout(retryTimer)
    const c = conn
    conn = undefined
    c?.close()
  }

  const fail = (error: OgmiosError) => {
    if (phase === "closed") return
    stop()
    sink.error(error)
  }

  const pump = () => {
    if (phase !== "syncing" || conn === undefined) return
    const room = Math.min(inFlight, credits) - outstanding
    // Top up in batches (one syscall each) rather than a frame per reply; never let the pipe run dry.
    if (room <= 0 || (room < batch && outstanding > 0)) return
    if (outstanding === 0) lastProgress = performance.now()
    outstanding += room
    conn.nextBlock(room)
  }

  const deliver = (event: ChainSyncEvent) => {
    credits--
    delivered++
    if (event._tag === "RollForward") {
      failures = 0 // a new block: the session makes progress, the next drop starts a fresh count
      window.forward(event.block)
      atTip = event.tip !== "origin" && event.block.id === event.tip.id
    } else {
      window.backward(event.point)
      atTip = event.tip === "origin" || (event.point !== "origin" && event.point.id === event.tip.id)
    }
    sink.event(event)
  }

  const onChainSync = (frame: ResponseFrame, text: string) => {
    if (phase !== "syncing") return
    outstanding--
    lastProgress = performance.now()
    if (isErrorFrame(frame)) return fail(fromRpcError(frame.error, frame.method ?? Method.nextBlock))
    const event = decodeNextBlock(frame.result, text)
    // a frame we cannot read is a connection fault: resume on a fresh connection, bounded like a drop
    if (event instanceof MalformedFrame) return drop(event)
    if (confirming !== undefined) {
      const resumedFrom = confirming
      confirming = undefined
      if (event._tag === "RollBackward" && samePoint(event.point, resumedFrom)) {
        atTip = event.tip === "origin" || (event.point !== "origin" && event.point.id === event.tip.id)
        return pump()
      }
    }
    deliver(event)
    pump()
  }

  const candidates = (): Array<PointOrOrigin> => {
    const out = window.points()
    for (const p of options.points) if (!out.some((q) => samePoint(p, q))) out.push(p)
    return out
  }

  const connect = () => {
    retryTimer = undefined
    if (phase === "closed") return
    phase = "connecting"
    const endpoint = options.endpoints[endpointIndex++ % options.endpoints.length]!
    OgmiosConnection.open(endpoint, options).then(
      (c) => {
        if (phase === "closed") return c.close()
        conn = c
        c.blockText = options.blockText === true
        connections++
        c.onEnd = drop
        c.onChainSync = onChainSync
        intersect(c, endpoint)
      },
      (error: ConnectionLost) => drop(error)
    )
  }

  const intersect = (c: OgmiosConnection, endpoint: string) => {
    phase = "intersecting"
    const resumeFrom = window.cursor
    c.request(Method.findIntersection, findIntersectionParams(candidates()), requestTimeout).then(
      (result) => {
        if (phase === "closed" || conn !== c) return
        const decoded = decodeIntersection(result)
        if (decoded._tag === "Failure") {
          return drop(new MalformedFrame({ message: `findIntersection result: ${decoded.failure.message}`, excerpt: "" }))
        }
        confirming = resumeFrom
        outstanding = 0
        atTip = false
        phase = "syncing"
        options.onConnected?.({
          endpoint,
          intersection: decoded.success.intersection,
          tip: decoded.success.tip,
          resumed: resumeFrom !== undefined
        })
        pump()
      },
      (error: OgmiosError) => {
        if (conn !== c) return
        drop(error)
      }
    )
  }

  const drop = (error: OgmiosError) => {
    if (phase === "closed") return
    if (!isReconnectable(error)) return fail(error)
    const c = conn
    conn = undefined
    outstanding = 0
    confirming = undefined
    c?.close(1000, "reconnecting")
    failures++
    if (failures > backoff.maxAttempts) return fail(error)
    const delayMs = reconnectDelay(backoff, failures)
    phase = "waiting"
    options.onReconnect?.({
      attempt: failures,
      maxAttempts: backoff.maxAttempts,
      delayMs,
      endpoint: options.endpoints[endpointIndex % options.endpoints.length]!,
      error
    })
    if (phase === "waiting") retryTimer = setTimeout(connect, delayMs)
  }

  connect()

  return {
    request: (n = 1) => {
      if (!(n > 0)) return
      credits += n
      pump()
    },
    close: stop,
    state: () => ({ phase, credits, outstanding, delivered, connections, atTip })
  }
}
