/**
 * The run history and the health checks over a lazy Redis connection (`RedisLive.lazy`), for tests
 * that drive them from plain async code: each is built in its own runtime, closed by `close()`.
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { HealthChecker, type HealthCheckerOptions, type HealthCheckerShape } from "../../src/observability/health.js"
import { RunHistory, type RunHistoryOptions, type RunHistoryShape } from "../../src/observability/runs.js"

type Promised<S> = {
  readonly [K in keyof S]: S[K] extends (...args: infer P) => Effect.Effect<infer A, infer _E> ? (...args: P) => Promise<A> : S[K]
}

/** The run history at `url` with Promise-returning methods. */
export const runHistoryAt = (url: string, options: RunHistoryOptions = {}): Promised<RunHistoryShape> & { readonly close: () => Promise<void> } => {
  const runtime = ManagedRuntime.make(RunHistory.layer(options).pipe(Layer.provide(RedisLive.lazy({ url: Redacted.make(url), connectionName: "hecate-test-runs" }))))
  const h = runtime.runSync(RunHistory)
  return {
    prefix: h.prefix,
    save: (r) => runtime.runPromise(h.save(r)),
    list: (limit) => runtime.runPromise(h.list(limit)),
    get: (id) => runtime.runPromise(h.get(id)),
    appendLog: (id, entries) => runtime.runPromise(h.appendLog(id, entries)),
    readLog: (id) => runtime.runPromise(h.readLog(id)),
    recordEpochs: (id, epochs) => runtime.runPromise(h.recordEpochs(id, epochs)),
    readEpochs: (id) => runtime.runPromise(h.readEpochs(id)),
    close: () => runtime.dispose()
  }
}

/** The health checks against `redisUrl` (each Redis command bounded by `timeoutMs`). */
export const healthCheckerAt = (options: HealthCheckerOptions & { readonly redisUrl: string }): HealthCheckerShape & { readonly close: () => Promise<void> } => {
  const { redisUrl, ...rest } = options
  const runtime = ManagedRuntime.make(
    HealthChecker.layer(rest).pipe(Layer.provide(RedisLive.lazy({ url: Redacted.make(redisUrl), connectionName: "hecate-test-health", timeoutMs: options.timeoutMs ?? 1_000 })))
  )
  return { ...runtime.runSync(HealthChecker), close: () => runtime.dispose() }
}
