/**
 * The live Redis layer (ioredis 6). Acquire = connect and fail fast with a clear RedisError when the
 * server is unreachable (no silent background reconnect loop before the first connection); release
 * = QUIT (falling back to disconnect). Once connected, ioredis reconnects with its capped backoff.
 * The URL is a Redacted value; only its redacted form ever reaches an error or a log.
 */
import { Effect, Layer, Redacted, type Scope } from "effect"
import { Redis as IORedis } from "ioredis"
import {
  Redis,
  type RedisClient,
  type RedisConnection,
  type RedisError,
  operationOf,
  redactUrl,
  toRedisError,
  urlPassword
} from "../services/Redis.js"

export interface RedisLiveOptions {
  readonly url: Redacted.Redacted<string>
  /** CLIENT SETNAME, visible in `redis-cli client list`. Default "hecate". */
  readonly connectionName?: string
  /** Connect timeout in ms (default 5000). */
  readonly connectTimeoutMs?: number
}

/**
 * QUIT, as a scope's release. QUIT waits for the server's reply, and one that does not answer
 * (frozen) must not hold up the process's stop: after a second the socket is just closed. A
 * release runs uninterruptibly, so the QUIT is made interruptible for the timeout to end it.
 */
const closeClient = (client: IORedis): Effect.Effect<void> =>
  Effect.promise(() => client.quit()).pipe(
    Effect.interruptible,
    Effect.timeout("1 second"),
    Effect.asVoid,
    Effect.catchCause(() => Effect.sync(() => client.disconnect()))
  )

/** Opens one connection for the current scope (connect on acquire, QUIT on release). */
export const makeConnection = (
  options: RedisLiveOptions
): Effect.Effect<RedisConnection & { readonly client: RedisClient }, RedisError, Scope.Scope> => {
  const rawUrl = Redacted.value(options.url)
  const url = redactUrl(rawUrl)
  const secret = urlPassword(rawUrl)
  return Effect.context<never>().pipe(Effect.flatMap((context) => Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        let connected = false
        const client = new IORedis(rawUrl, {
          lazyConnect: true,
          connectionName: options.connectionName ?? "hecate",
          connectTimeout: options.connectTimeoutMs ?? 5_000,
          // Before the first connection: fail fast. Afterwards: capped exponential backoff.
          retryStrategy: (times) => (connected ? Math.min(times * 200, 5_000) : null),
          maxRetriesPerRequest: 20
        })
        // Without a listener ioredis prints "Unhandled error event" for every failed reconnect.
        // Before the first connection, keep the socket error: connect() itself only rejects with
        // "Connection is closed".
        let socketError: unknown
        client.on("error", (error: unknown) => {
          if (!connected) socketError = error
        })
        try {
          await client.connect()
        } catch (error) {
          client.disconnect()
          throw socketError ?? error
        }
        // ioredis reports a refused SELECT (a database number the server does not have) only as
        // an error event and then carries on in database 0: never write there by mistake
        if (socketError !== undefined) {
          client.disconnect()
          throw socketError
        }
        connected = true
        reportOutages(client, url, secret, Effect.runForkWith(context))
        return client
      },
      catch: (cause) => toRedisError("connect", url, cause, secret)
    }),
    closeClient
  ))).pipe(
    Effect.map((client) => {
      const use = <A>(f: (client: RedisClient) => Promise<A>, operation?: string): Effect.Effect<A, RedisError> =>
        Effect.tryPromise({
          try: () => f(client),
          catch: (cause) => toRedisError(operation ?? operationOf(cause), url, cause, secret)
        })
      return { url, client, use }
    })
  )
}

/**
 * An outage of an established connection is logged once when it starts (WARN, with the cause) and
 * once when it ends ("Redis … back after 12 s"), however many reconnect attempts and commands
 * wait in between: ioredis queues the commands and reconnects on its own, silently otherwise.
 */
const reportOutages = (client: IORedis, url: string, secret: string | undefined, run: (effect: Effect.Effect<void>) => unknown) => {
  let closedAt = Date.now()
  let down = false
  let cause = "connection closed"
  client.on("error", (error: unknown) => {
    cause = toRedisError("connection", url, error, secret).detail
  })
  client.on("close", () => {
    if (!down) closedAt = Date.now()
  })
  // only a connection lost by accident reconnects (QUIT / disconnect end it)
  client.on("reconnecting", () => {
    if (down) return
    down = true
    run(Effect.logWarning(`Redis at ${url} is unreachable (${cause}); reconnecting, writes wait until it is back`))
  })
  client.on("ready", () => {
    if (!down) return
    down = false
    cause = "connection closed"
    run(Effect.logInfo(`Redis at ${url} back after ${((Date.now() - closedAt) / 1000).toFixed(1)} s`))
  })
  // A server that stops answering with the connection open (frozen, swapping, a long script) never
  // closes it: a PING that gets no reply within FROZEN_AFTER_MS says so, once, and its answer says
  // when it is back.
  let probing = false
  let silentSince: number | undefined
  const watchdog = setInterval(() => {
    if (probing || client.status !== "ready") return
    probing = true
    const sent = Date.now()
    const late = setTimeout(() => {
      silentSince = sent
      run(Effect.logWarning(`Redis at ${url} does not answer (no reply to PING for ${FROZEN_AFTER_MS / 1000} s); writes wait until it does`))
    }, FROZEN_AFTER_MS)
    late.unref()
    client.ping().then(
      () => {
        clearTimeout(late)
        if (silentSince !== undefined) run(Effect.logInfo(`Redis at ${url} answers again after ${((Date.now() - silentSince) / 1000).toFixed(1)} s`))
        silentSince = undefined
      },
      () => clearTimeout(late) // a lost connection: reported by the events above
    ).finally(() => (probing = false))
  }, WATCHDOG_INTERVAL_MS)
  watchdog.unref()
  client.once("end", () => clearInterval(watchdog))
}

/** How long a PING may go unanswered on an open connection before the server is reported silent. */
const FROZEN_AFTER_MS = 5_000
const WATCHDOG_INTERVAL_MS = 2_000

/** Builds the Redis service for the current scope. */
export const make = (options: RedisLiveOptions): Effect.Effect<Redis["Service"], RedisError, Scope.Scope> =>
  Effect.map(makeConnection(options), ({ url, use }) =>
    Redis.of({
      url,
      use,
      duplicate: (name) =>
        Effect.map(
          makeConnection({ ...options, connectionName: name ?? `${options.connectionName ?? "hecate"}:dedicated` }),
          ({ url, use }) => ({ url, use })
        )
    })
  )

export interface RedisLazyOptions {
  readonly url: Redacted.Redacted<string>
  /** CLIENT SETNAME, visible in `redis-cli client list`. Default "hecate". */
  readonly connectionName?: string
  /** Limit of a connect and of each command, in ms (default 2000). */
  readonly timeoutMs?: number
}

/**
 * A connection for probes and best-effort writers (/health, the run history): nothing happens
 * until the first `use`, which connects; while Redis is unreachable every `use` fails at once
 * with a RedisError (no queued commands, no background reconnects), and the next `use` after a
 * failure connects afresh, so it recovers when Redis returns. Closed (QUIT) with its scope.
 */
export const makeLazyConnection = (options: RedisLazyOptions): Effect.Effect<RedisConnection, never, Scope.Scope> => {
  const rawUrl = Redacted.value(options.url)
  const url = redactUrl(rawUrl)
  const secret = urlPassword(rawUrl)
  const timeoutMs = options.timeoutMs ?? 2_000
  let client: IORedis | undefined
  let connecting: Promise<IORedis> | undefined
  let closed = false
  // a fresh client per connection: an ended ioredis client keeps state ("Connection is already
  // connecting", a stale SELECT) that would leak into the next attempt's error
  const open = async (): Promise<IORedis> => {
    const next = new IORedis(rawUrl, {
      lazyConnect: true,
      connectionName: options.connectionName ?? "hecate",
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      // a socket that never opened would otherwise hold the process this long at its end
      disconnectTimeout: 50,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null
    })
    // the socket's error (ECONNREFUSED …) says more than connect()'s "Connection is closed."; a
    // refused SELECT (a database the server does not have) is only an error event, after which
    // ioredis would carry on in database 0
    let socketError: unknown
    next.on("error", (error: unknown) => (socketError ??= error))
    try {
      await next.connect()
    } catch (error) {
      next.disconnect()
      throw socketError ?? error
    }
    if (socketError !== undefined) {
      next.disconnect()
      throw socketError
    }
    return next
  }
  const ready = (): Promise<IORedis> => {
    if (closed) return Promise.reject(new Error("Connection is closed."))
    if (client?.status === "ready") return Promise.resolve(client)
    connecting ??= open().then(
      (next) => {
        client?.disconnect()
        client = next
        if (closed) next.disconnect()
        return next
      }
    ).finally(() => (connecting = undefined))
    return connecting
  }
  return Effect.acquireRelease(
    Effect.succeed<RedisConnection>({
      url,
      use: <A>(f: (client: RedisClient) => Promise<A>, operation?: string) =>
        Effect.tryPromise({
          try: () => ready().then(f),
          catch: (cause) => toRedisError(operation ?? operationOf(cause), url, cause, secret)
        })
    }),
    () =>
      Effect.suspend(() => {
        closed = true
        const last = client
        client = undefined
        return last === undefined ? Effect.void : closeClient(last)
      })
  )
}

/** Builds the lazy Redis service for the current scope (see `makeLazyConnection`). */
export const makeLazy = (options: RedisLazyOptions): Effect.Effect<Redis["Service"], never, Scope.Scope> =>
  Effect.map(makeLazyConnection(options), ({ url, use }) =>
    Redis.of({
      url,
      use,
      duplicate: (name) =>
        makeLazyConnection({ ...options, connectionName: name ?? `${options.connectionName ?? "hecate"}:dedicated` })
    })
  )

export const RedisLive = {
  /** `RedisLive.layer({ url })`: the Redis service over one connection for the layer's lifetime. */
  layer: (options: RedisLiveOptions): Layer.Layer<Redis, RedisError> => Layer.effect(Redis, make(options)),
  /**
   * `RedisLive.lazy({ url })`: never fails to build; connects on first use, fails each command
   * fast while Redis is unreachable and reconnects on a later use (see `makeLazyConnection`).
   */
  lazy: (options: RedisLazyOptions): Layer.Layer<Redis> => Layer.effect(Redis, makeLazy(options))
} as const
