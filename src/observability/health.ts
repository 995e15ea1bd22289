/**
 * `GET /health`: is the relay following the tip?
 *
 * - **503** when Redis or Ogmios is unreachable (a PING with a 1 s timeout; an HTTP GET of the
 *   endpoint's `/health`, which Ogmios and the simulator both serve on their WebSocket port);
 * - **202** while catching up: the relayed position is more than `maxDistance` blocks behind the
 *   node's tip (or nothing is known about the position yet);
 * - **200** when following within `maxDistance` blocks of the tip.
 *
 * The body says which: `{status: "ok"|"catching-up"|"unavailable", reasons: [...], redis, ogmios, relay, tipDistance}`.
 * The relayed position is the in-process last applied block, else the stored cursor's newest block
 * (so a resumed relay on a quiet chain is "ok" without a new block); the node's tip is the newest
 * of the Ogmios health's `lastKnownTip` and the tip carried by the last write.
 */
import { Context, Effect, Layer } from "effect"
import { redactCredentials, splitCredentials } from "../domain/redacted-url.js"
import { relayKeys } from "../relay/keys.js"
import { connectionProblem, Redis, type RedisError, toRedisError } from "../services/Redis.js"
import type { LiveState } from "./metrics.js"
import { type Overview, readOverview } from "./overview.js"

export interface HealthBody {
  readonly status: "ok" | "catching-up" | "unavailable"
  readonly reasons: ReadonlyArray<string>
  readonly redis: { readonly reachable: boolean; readonly error?: string }
  readonly ogmios: { readonly reachable: boolean; readonly endpoint?: string; readonly tipHeight?: number; readonly tipSlot?: number; readonly error?: string }
  readonly relay?: {
    readonly prefix: string
    readonly connection: string | undefined
    readonly height: number | undefined
    readonly writes: number
    readonly lastWriteAt: string | undefined
    readonly lastError: string | undefined
  }
  readonly tipDistance: {
    readonly blocks: number | undefined
    readonly slots: number | undefined
    readonly max: number
    /** the node's tip is below the relay's position: no distance, the relay waits for the node */
    readonly waitingForNode?: { readonly nodeTipHeight: number; readonly height: number }
  }
  readonly uptimeSeconds: number
  readonly [key: string]: unknown
}

export interface Health {
  readonly status: 200 | 202 | 503
  readonly body: HealthBody
}

export interface HealthCheckerOptions {
  /** the run's live state (its Telemetry's): what this process relayed */
  readonly live: LiveState
  readonly endpoints: ReadonlyArray<string>
  /** the relay prefix whose cursor gives the stored position (omit when no relay runs) */
  readonly relayPrefix?: string | undefined
  /** blocks behind the tip still counted as following (default 5) */
  readonly maxDistance?: number | undefined
  readonly timeoutMs?: number | undefined
  /** without a relay: a reason while the work is still catching up (a backfill in progress), else undefined */
  readonly catchingUp?: (() => string | undefined) | undefined
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** ws://host:port[/path] → http://host:port/health (credentials kept: see `ogmiosHealthRequest`) */
export const ogmiosHealthUrl = (endpoint: string): string => {
  const u = new URL(endpoint)
  u.protocol = u.protocol === "wss:" ? "https:" : "http:"
  u.pathname = "/health"
  u.search = ""
  return u.toString()
}

/**
 * The health request of an endpoint: fetch refuses a URL with credentials, so `user:key@` of the
 * endpoint travels as HTTP basic auth, as on its WebSocket upgrade.
 */
export const ogmiosHealthRequest = (endpoint: string): { readonly url: string; readonly headers: Record<string, string> } => {
  const { url, authorization } = splitCredentials(ogmiosHealthUrl(endpoint))
  return { url, headers: authorization === undefined ? {} : { authorization } }
}

/**
 * Why Redis cannot be used, as one sentence: where it is and what the connection said
 * ("Redis at redis://127.0.0.1:6390 is unreachable: connect ECONNREFUSED 127.0.0.1:6390"), not
 * the driver's internal state; `brief` is the same without the leading words, for the reasons.
 */
export const redisUnreachable = (error: RedisError): { readonly sentence: string; readonly brief: string } => {
  const why = connectionProblem(error)
  return why === undefined
    ? { sentence: error.detail, brief: error.detail }
    : { sentence: `Redis at ${error.url} is unreachable: ${why}`, brief: `${error.url}: ${why}` }
}

export interface HealthCheckerShape {
  readonly check: Effect.Effect<Health>
  /** `last_synced_epoch` and the metrics hash (`epochs_total`, `blocks_total`) of an epoch-stream prefix */
  readonly history: (prefix: string) => Effect.Effect<{ readonly lastSyncedEpoch: number | undefined; readonly epochsTotal: number | undefined; readonly blocksTotal: number | undefined }>
  /** what Redis says about the epoch streams (`historyPrefix`), the relay and the server (overview.ts) */
  readonly overview: (historyPrefix: string | undefined) => Effect.Effect<Overview>
}

/**
 * The checks over the `Redis` service. Meant for a lazy one (`RedisLive.lazy`): while Redis is
 * down each check fails fast and says so, and the next one connects again.
 */
export const makeHealthChecker = Effect.fn("HealthChecker.make")(function*(options: HealthCheckerOptions) {
  const redis = yield* Redis
  const live = options.live
  const timeoutMs = options.timeoutMs ?? 1_000
  const maxDistance = options.maxDistance ?? 5
  // the lazy connection bounds each command; this bounds a round of them (connect, PING, the cursor)
  const bounded = <A>(effect: Effect.Effect<A, RedisError>, operation: string): Effect.Effect<A, RedisError> =>
    Effect.timeoutOrElse(effect, {
      duration: 3 * timeoutMs,
      orElse: () => Effect.fail(unanswered(redis.url, operation))
    })

  const redisProbe: Effect.Effect<{ reachable: boolean; error?: string; brief?: string; height?: number; slot?: number }> = bounded(
    redis.use(async (client) => {
      await client.ping()
      if (options.relayPrefix === undefined) return { reachable: true }
      const keys = relayKeys(options.relayPrefix)
      const [newest, cursor] = await Promise.all([client.lindex(keys.window, -1), client.hmget(keys.cursor, "final_height", "final_slot")])
      if (newest !== null) {
        const [height, slot] = newest.split(" ")
        return { reachable: true, height: Number(height), slot: Number(slot) }
      }
      const h = cursor[0]
      return h === null || h === undefined || h === "" ? { reachable: true } : { reachable: true, height: Number(h), slot: Number(cursor[1]) }
    }, "PING"),
    "PING"
  ).pipe(Effect.catch((error) => {
    const { sentence, brief } = redisUnreachable(error)
    return Effect.succeed({ reachable: false, error: sentence, brief })
  }))

  const ogmiosProbe = async (): Promise<HealthBody["ogmios"]> => {
    let error = "no endpoint configured"
    for (const endpoint of options.endpoints) {
      try {
        const request = ogmiosHealthRequest(endpoint)
        const response = await fetch(request.url, { headers: request.headers, signal: AbortSignal.timeout(timeoutMs) })
        const text = await response.text()
        let tip: { height?: unknown; slot?: unknown } | undefined
        try {
          tip = (JSON.parse(text) as { lastKnownTip?: { height?: unknown; slot?: unknown } }).lastKnownTip
        } catch {
          tip = undefined
        }
        return {
          reachable: true,
          endpoint: redactCredentials(endpoint),
          ...(typeof tip?.height === "number" ? { tipHeight: tip.height } : {}),
          ...(typeof tip?.slot === "number" ? { tipSlot: tip.slot } : {})
        }
      } catch (e) {
        error = redactCredentials(`${endpoint}: ${message((e as { cause?: unknown }).cause ?? e)}`)
      }
    }
    return { reachable: false, error }
  }

  const check = Effect.gen(function*() {
    const [redis, ogmios] = yield* Effect.all([redisProbe, Effect.promise(ogmiosProbe)], { concurrency: 2 })
    const reasons: Array<string> = []
    if (!redis.reachable) reasons.push(`Redis unreachable (${redis.brief ?? "?"})`)
    if (!ogmios.reachable) reasons.push(`Ogmios unreachable (${ogmios.error ?? "?"})`)
    const r = live.relay
    // position: the newer of what this process wrote and what the cursor holds
    const height = r.lastHeight !== undefined && (redis.height === undefined || r.lastHeight >= redis.height) ? r.lastHeight : redis.height
    const slot = r.lastHeight !== undefined && height === r.lastHeight ? r.lastSlot : redis.slot
    const tipHeight = Math.max(ogmios.tipHeight ?? -1, r.tipHeight ?? -1)
    const tipSlot = Math.max(ogmios.tipSlot ?? -1, r.tipSlot ?? -1)
    // with Ogmios unreachable the node's tip is unknown: the last one seen would claim "at the tip"
    const tipKnown = ogmios.reachable
    // a node behind the relay (restarted from an older state, still syncing) is not "0 blocks
    // behind": the relay waits for it, and the distance is unknown until it catches up
    // (Ogmios's /health tip may trail a block the relay just wrote: only the relay's own state says so)
    const nodeTip = r.connection === "waiting for the node" ? ogmios.tipHeight ?? r.nodeTipHeight : undefined
    const waitingForNode = height !== undefined && nodeTip !== undefined
      ? { nodeTipHeight: nodeTip, height }
      : undefined
    const blocks = waitingForNode === undefined && tipKnown && height !== undefined && tipHeight >= 0 ? Math.max(0, tipHeight - height) : undefined
    const slots = waitingForNode === undefined && tipKnown && slot !== undefined && tipSlot >= 0 ? Math.max(0, tipSlot - slot) : undefined
    let status: Health["status"] = 200
    const behind = options.catchingUp?.()
    if (reasons.length > 0) status = 503
    else if (behind !== undefined) {
      status = 202
      reasons.push(behind)
    } else if (options.relayPrefix !== undefined) {
      if (waitingForNode !== undefined) {
        status = 202
        reasons.push(
          `waiting for the node to catch up: node tip height ${waitingForNode.nodeTipHeight}, relay at height ${waitingForNode.height}`
        )
      } else if (blocks === undefined) {
        status = 202
        reasons.push("no relayed position yet")
      } else if (blocks > maxDistance) {
        status = 202
        reasons.push(`catching up: ${blocks} blocks behind the tip (following within ${maxDistance})`)
      } else if (r.connection !== undefined && r.connection !== "following" && r.connection !== "paused") {
        status = 202
        reasons.push(`relay ${r.connection}`)
      }
    }
    const body: HealthBody = {
      status: status === 200 ? "ok" : status === 202 ? "catching-up" : "unavailable",
      reasons,
      redis: redis.reachable ? { reachable: true } : { reachable: false, error: redis.error ?? "?" },
      ogmios,
      ...(options.relayPrefix === undefined ? {} : {
        relay: {
          prefix: options.relayPrefix,
          connection: r.connection,
          height,
          writes: r.writes,
          lastWriteAt: r.lastWriteAt,
          lastError: r.lastError
        }
      }),
      tipDistance: { blocks, slots, max: maxDistance, ...(waitingForNode === undefined ? {} : { waitingForNode }) },
      uptimeSeconds: Math.round((Date.now() - live.startedAt) / 1000)
    }
    return { status, body } satisfies Health
  })
  const none = { lastSyncedEpoch: undefined, epochsTotal: undefined, blocksTotal: undefined }
  const history: HealthCheckerShape["history"] = (prefix) => {
    const num = (v: string | null | undefined) => (v === null || v === undefined || v === "" ? undefined : Number(v))
    return bounded(
      redis.use((client) => Promise.all([client.get(`${prefix}last_synced_epoch`), client.hmget(`${prefix}metrics`, "epochs_total", "blocks_total")]), "reading the epoch streams' metrics"),
      "reading the epoch streams' metrics"
    ).pipe(
      Effect.map(([last, totals]) => ({ lastSyncedEpoch: num(last), epochsTotal: num(totals[0]), blocksTotal: num(totals[1]) })),
      Effect.orElseSucceed(() => none)
    )
  }
  const overview: HealthCheckerShape["overview"] = (historyPrefix) =>
    Effect.timeoutOrElse(redis.use((client) => readOverview(client, { historyPrefix, relayPrefix: options.relayPrefix }), "reading the overview"), {
      duration: 6 * timeoutMs,
      orElse: () => Effect.fail(unanswered(redis.url, "reading the overview"))
    }).pipe(
      Effect.catch((error) => Effect.succeed<Overview>({ redis: { reachable: false, error: redisUnreachable(error).sentence } }))
    )
  return HealthChecker.of({ check, history, overview })
})

const unanswered = (url: string, operation: string): RedisError =>
  toRedisError(operation, url, new Error(`${operation}: timed out`))

/** The health checks as a service (`HealthChecker.layer(options)` over the `Redis` service). */
export class HealthChecker extends Context.Service<HealthChecker, HealthCheckerShape>()("hecate/HealthChecker") {
  static readonly layer = (options: HealthCheckerOptions): Layer.Layer<HealthChecker, never, Redis> =>
    Layer.effect(HealthChecker, makeHealthChecker(options))
}
