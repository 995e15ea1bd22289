/**
 * The observability HTTP server (node:http), bound to 127.0.0.1 unless told otherwise:
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
import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import { DASHBOARD_HTML } from "./dashboard.js"
import { redactCredentials } from "../domain/redacted-url.js"
import type { Health, HealthChecker } from "./health.js"
import { currentBlocksPerSecond, live, startSampler } from "./metrics.js"
import { type RunHistory, shownState } from "./runs.js"
import type { QueueActivity } from "./workers.js"

export interface ObservabilityServerOptions {
  readonly host: string
  /** 0 = any free port */
  readonly port: number
  readonly health: HealthChecker
  readonly runs?: RunHistory | undefined
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

export const observabilityServer = (options: ObservabilityServerOptions) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const metrics = () => Effect.runPromiseWith(context)(PrometheusMetrics.format())
    startSampler()

    // one probe round at a time; concurrent requests share it (the dashboard and a scraper)
    let pending: Promise<Health> | undefined
    let cached: { at: number; health: Health } | undefined
    const health = async (): Promise<Health> => {
      if (cached !== undefined && Date.now() - cached.at < 250) return cached.health
      pending ??= options.health.check().then(async (h) => {
        const extra = options.extraHealth === undefined ? {} : await options.extraHealth()
        const result: Health = { status: h.status, body: { ...h.body, ...extra } }
        cached = { at: Date.now(), health: result }
        live.tipDistance = { blocks: h.body.tipDistance.blocks, at: cached.at }
        return result
      }).finally(() => (pending = undefined))
      return pending
    }

    /** Consumer groups on the relay's `events` / `final`; undefined when Redis holds no relay here. */
    const relayGroups = (overview: Awaited<ReturnType<typeof options.health.overview>>): number | undefined =>
      overview?.relay === undefined ? undefined : overview.relay.streams.reduce((n, st) => n + st.groups.length, 0)

    const state = async () => {
      const h = await health()
      const [runs, history, overview, distributed] = await Promise.all([
        options.runs === undefined ? Promise.resolve([]) : options.runs.list(15).catch(() => []),
        options.historyPrefix === undefined ? Promise.resolve(undefined) : options.health.history(options.historyPrefix),
        options.health.overview(options.historyPrefix),
        options.queue === undefined ? Promise.resolve(undefined) : options.queue()
      ])
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
        blocksPerSecond: currentBlocksPerSecond(),
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
    }

    // a run's detail: its record, epoch timeline and log (the dashboard's run panel)
    const runDetail = async (id: string) => {
      if (options.runs === undefined) return undefined
      const run = await options.runs.get(id)
      if (run === undefined) return undefined
      const [log, timeline] = await Promise.all([options.runs.readLog(id), options.runs.readEpochs(id)])
      return { run: { ...run, shownState: shownState(run) }, timeline, log: log.entries, logDropped: log.total - log.entries.length }
    }

    // the tip chart is fed from the checks, also while nobody watches the page
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const timer = setInterval(() => void health().catch(() => undefined), TIP_SAMPLE_EVERY_MS)
        timer.unref()
        return timer
      }),
      (timer) => Effect.sync(() => clearInterval(timer))
    )

    const server = yield* Effect.acquireRelease(
      Effect.callback<Server, InvalidConfiguration>((resume) => {
        const s = createServer((req, res) => {
          const path = (req.url ?? "/").split("?")[0]
          const fail = (e: unknown) => {
            if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
            res.end(String(e))
          }
          if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { "content-type": "text/plain", allow: "GET" }).end("method not allowed\n")
            return
          }
          switch (path) {
            case "/":
            case "/index.html":
              res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(DASHBOARD_HTML)
              return
            case "/api/state":
              state().then((body) => res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(json(body)), fail)
              return
            case "/api/run": {
              const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? ""
              runDetail(id).then((body) =>
                body === undefined
                  ? res.writeHead(404, { "content-type": "text/plain" }).end(`no run ${id}\n`)
                  : res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(json(body)), fail)
              return
            }
            case "/health":
              health().then((h) => res.writeHead(h.status, { "content-type": "application/json", "cache-control": "no-store" }).end(json(h.body)), fail)
              return
            case "/metrics":
              metrics().then((text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(redactCredentials(text)), fail)
              return
            default:
              res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET / (dashboard), /health, /metrics, /api/state, /api/run?id=\n")
          }
        })
        s.once("error", (e: NodeJS.ErrnoException) =>
          resume(Effect.fail(new InvalidConfiguration({
            variable: options.portVariable ?? "--http-port",
            message: `cannot listen on ${options.host}:${options.port} (${e.code ?? e.message}) — choose another --http-port / --http-host`
          }))))
        s.listen(options.port, options.host, () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.callback<void>((resume) => {
          s.close(() => resume(Effect.void))
          s.closeAllConnections()
        })
    )
    const port = (server.address() as AddressInfo).port
    const host = options.host.includes(":") ? `[${options.host}]` : options.host
    return { server, port, url: `http://${host}:${port}` } satisfies ObservabilityServer
  })
