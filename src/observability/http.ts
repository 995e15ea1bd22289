/**
 * The observability HTTP server (Effect's HTTP server and router over node:http), bound to 127.0.0.1 unless told otherwise:
 *
 * - `GET /`           the dashboard (static HTML, src/observability/dashboard.ts)
 * - `GET /api/state`  the dashboard's JSON (health, tip distance, throughput series, the epoch map,
 *                     the Redis overview with consumer groups, rollbacks, reconnects, refresh, runs)
 * - `GET /api/run?id=ID` one run: its record, epoch timeline and log
 * - `GET /health`     200 / 202 / 503 with a JSON body (src/observability/health.ts)
 * - `GET /metrics`    Prometheus text (`PrometheusMetrics.format()`)
 *
 * Closed with its scope.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import { DASHBOARD_HTML } from "./dashboard.js"
import { redactCredentials } from "../domain/redacted-url.js"
import type { Health, HealthCheckerShape } from "./health.js"
import { Telemetry } from "./Telemetry.js"
import { type RunHistoryShape, shownState } from "./runs.js"
import type { Overview } from "./overview.js"
import type { QueueActivity } from "./workers.js"

export interface ObservabilityServerOptions {
  readonly host: string
  /** 0 = any free port */
  readonly port: number
  readonly health: HealthCheckerShape
  readonly runs?: RunHistoryShape | undefined
  /** epoch-stream prefix whose last_synced_epoch the dashboard shows */
  readonly historyPrefix?: string | undefined
  /** extra fields merged into the /health body (e.g. serve's refresh status) */
  readonly extraHealth?: (() => Promise<Record<string, unknown>>) | undefined
  /** a distributed backfill's queue: its workers and their jobs */
  readonly queue?: (() => Promise<QueueActivity>) | undefined
  /** which flag/variable to name when the port is taken */
  readonly portVariable?: string
}

export interface ObservabilityServer {
  readonly server: Server
  readonly port: number
  readonly url: string
}

/** How often the server runs the health checks to sample the tip distance. */
const TIP_SAMPLE_EVERY_MS = 2_000

// bodies quote endpoints and error texts: served without credentials
const json = (body: unknown) => redactCredentials(JSON.stringify(body, (_k, v: unknown) => (v instanceof Set ? [...v] : v)))

const NO_STORE = { "cache-control": "no-store" }
const jsonResponse = (body: unknown) => HttpServerResponse.text(json(body), { contentType: "application/json", headers: NO_STORE })
const plain = (status: number, body: string, headers: Record<string, string> = {}) => HttpServerResponse.text(body, { status, contentType: "text/plain", headers })

/** A route's answer; a failure is a 500 with the error's text. */
const answer = <E>(respond: Effect.Effect<HttpServerResponse.HttpServerResponse, E>) =>
  respond.pipe(Effect.catch((e) => Effect.succeed(plain(500, e instanceof Error ? e.message : String(e)))))

/** The server's routes: GET (and HEAD) only; anything else is 405, an unknown path 404. */
const routes = (handlers: {
  readonly state: Effect.Effect<unknown>
  readonly runDetail: (id: string) => Effect.Effect<unknown, unknown>
  readonly health: Effect.Effect<Health>
}) => {
  const page = Effect.succeed(HttpServerResponse.text(DASHBOARD_HTML, { contentType: "text/html; charset=utf-8", headers: NO_STORE }))
  const get = (path: `/${string}` | "*", handler: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>) =>
    HttpRouter.route("*", path, (request) =>
      request.method === "GET" || request.method === "HEAD"
        ? handler(request)
        : Effect.succeed(plain(405, "method not allowed\n", { allow: "GET" })))
  return [
    get("/", () => page),
    get("/index.html", () => page),
    get("/api/state", () => answer(Effect.map(handlers.state, jsonResponse))),
    get("/api/run", (request) => {
      const id = new URL(request.url, "http://x").searchParams.get("id") ?? ""
      return answer(Effect.map(handlers.runDetail(id), (body) => body === undefined ? plain(404, `no run ${id}\n`) : jsonResponse(body)))
    }),
    get("/health", () => answer(Effect.map(handlers.health, (h) => HttpServerResponse.text(json(h.body), { status: h.status, contentType: "application/json", headers: NO_STORE })))),
    get("/metrics", () =>
      PrometheusMetrics.format().pipe(Effect.map((text) => HttpServerResponse.text(redactCredentials(text), { contentType: "text/plain; version=0.0.4" })))),
    get("*", () => Effect.succeed(plain(404, "not found: GET / (dashboard), /health, /metrics, /api/state, /api/run?id=\n")))
  ] as const
}

export const observabilityServer = (options: ObservabilityServerOptions) =>
  Effect.gen(function*() {
    const { live } = yield* Telemetry

    // one probe round at a time; concurrent requests share it (the dashboard and a scraper)
    let pending: Promise<Health> | undefined
    let cached: { at: number; health: Health } | undefined
    const healthNow = async (): Promise<Health> => {
      if (cached !== undefined && Date.now() - cached.at < 250) return cached.health
      pending ??= Effect.runPromise(options.health.check).then(async (h) => {
        const extra = options.extraHealth === undefined ? {} : await options.extraHealth()
        const result: Health = { status: h.status, body: { ...h.body, ...extra } }
        cached = { at: Date.now(), health: result }
        live.tipDistance = { blocks: h.body.tipDistance.blocks, at: cached.at }
        return result
      }).finally(() => (pending = undefined))
      return pending
    }

    const health = Effect.promise(healthNow)

    /** Consumer groups on the relay's `events` / `final`; undefined when Redis holds no relay here. */
    const relayGroups = (overview: Overview): number | undefined =>
      overview?.relay === undefined ? undefined : overview.relay.streams.reduce((n, st) => n + st.groups.length, 0)

    const state = Effect.gen(function*() {
      const h = yield* health
      const [runs, history, overview, distributed] = yield* Effect.all([
        options.runs === undefined ? Effect.succeed([]) : options.runs.list(15).pipe(Effect.orElseSucceed(() => [])),
        options.historyPrefix === undefined ? Effect.succeed(undefined) : options.health.history(options.historyPrefix),
        options.health.overview(options.historyPrefix),
        options.queue === undefined ? Effect.succeed(undefined) : Effect.promise(options.queue)
      ], { concurrency: "unbounded" })
      const b = live.backfill
      const now = Date.now()
      const remaining = b.plan === undefined ? undefined : Math.max(0, b.plan.blocks - b.blocks)
      // the run's average since its first batch: steadier than the 5 s rate for an ETA
      const average = b.firstBatchAt === undefined || now - b.firstBatchAt < 1_000 ? undefined : (b.blocks * 1000) / (now - b.firstBatchAt)
      return {
        now: new Date().toISOString(),
        commands: [...live.commands],
        health: { status: h.body.status, code: h.status, reasons: h.body.reasons },
        tipDistance: h.body.tipDistance,
        blocksPerSecond: live.currentBlocksPerSecond(),
        blocks: live.blocks,
        bytes: live.bytes,
        throughput: live.throughput.items,
        relay: {
          height: h.body.relay?.height ?? live.relay.lastHeight,
          connection: live.relay.connection,
          writes: live.relay.writes,
          // the relay's lag is the largest over the groups of events / final: with none there is no
          // lag to speak of (its writes report 0), and the page says so instead of "lag 0"
          consumerGroups: overview.redis.reachable ? relayGroups(overview) : undefined,
          // with Redis unreachable the groups and their lag are unknown, not "none" or 0
          lag: !overview.redis.reachable || relayGroups(overview) === 0 ? undefined : live.relay.lag,
          lastWriteError: live.relay.lastWriteError,
          reconnects: live.relay.reconnects
        },
        epochs: {
          done: b.epochsDone > 0 || history?.epochsTotal === undefined ? b.epochsDone : history.epochsTotal,
          planned: b.plan?.epochs,
          failed: b.epochsFailed,
          retried: b.epochsRetried,
          active: [...b.active],
          lastSynced: b.lastCommitted ?? history?.lastSyncedEpoch,
          plan: b.plan,
          blocks: b.blocks,
          averageBlocksPerSecond: average,
          etaSeconds: remaining === undefined || average === undefined || average <= 0 ? undefined : Math.round(remaining / average),
          map: [...b.epochs].sort(([a], [c]) => a - c).map(([epoch, c]) => ({
            epoch,
            state: c.state,
            blocks: c.blocks,
            attempts: c.attempts,
            error: c.error,
            endpoint: c.endpoint,
            seconds: c.startedAt === undefined ? undefined : Math.round(((c.endedAt ?? now) - c.startedAt) / 100) / 10
          }))
        },
        overview,
        distributed,
        rollbackDepths: [...live.rollbackDepths].sort(([a], [c]) => a - c).map(([depth, count]) => ({ depth, count })),
        reconnectLog: live.reconnectLog.items,
        refresh: h.body["refresh"],
        rollbacksTotal: live.relay.rollbacks,
        rollbacks: live.rollbacks.items,
        paused: {
          now: live.paused.since !== undefined,
          since: live.paused.since === undefined ? undefined : new Date(live.paused.since).toISOString(),
          seconds: live.paused.seconds
        },
        runs: runs.map((r) => ({ ...r, shownState: shownState(r) }))
      }
    })

    // a run's detail: its record, epoch timeline and log (the dashboard's run panel)
    const runDetail = (id: string) =>
      Effect.gen(function*() {
        const runs = options.runs
        if (runs === undefined) return undefined
        const run = yield* runs.get(id)
        if (run === undefined) return undefined
        const [log, timeline] = yield* Effect.all([runs.readLog(id), runs.readEpochs(id)], { concurrency: 2 })
        return { run: { ...run, shownState: shownState(run) }, timeline, log: log.entries, logDropped: log.total - log.entries.length }
      })

    // the tip chart is fed from the checks, also while nobody watches the page (stops with the scope)
    yield* Effect.sleep(TIP_SAMPLE_EVERY_MS).pipe(
      Effect.andThen(Effect.promise(() => healthNow().catch(() => undefined))),
      Effect.forever,
      Effect.forkScoped
    )

    const server = createServer()
    const http = yield* NodeHttpServer.make(() => server, { port: options.port, host: options.host, disablePreemptiveShutdown: true }).pipe(
      Effect.mapError((e) => {
        const cause = e.cause as NodeJS.ErrnoException | undefined
        return new InvalidConfiguration({
          variable: options.portVariable ?? "--http-port",
          message: `cannot listen on ${options.host}:${options.port} (${cause?.code ?? cause?.message ?? String(e.cause)}) — choose another --http-port / --http-host`
        })
      })
    )
    // registered after the server's own finalizer, so it runs first: a dashboard's open keep-alive
    // connections must not hold the run's end
    yield* Effect.addFinalizer(() =>
      Effect.callback<void>((resume) => {
        if (!server.listening) return resume(Effect.void)
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    )
    const router = yield* HttpRouter.make
    yield* router.addAll(routes({ state, runDetail, health }))
    yield* http.serve(router.asHttpEffect())
    const port = (server.address() as AddressInfo).port
    const host = options.host.includes(":") ? `[${options.host}]` : options.host
    return { server, port, url: `http://${host}:${port}` } satisfies ObservabilityServer
  })
