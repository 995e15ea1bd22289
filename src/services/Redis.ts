/**
 * The Redis service: one ioredis connection behind `use`, which maps every rejection to a
 * `RedisError` whose message names the operation, the (password-redacted) server and what to do.
 * `duplicate()` opens a dedicated connection (blocking reads, cleanup loops) for the caller's scope.
 *
 * The live implementation is `src/layers/RedisLive.ts`.
 */
import { Context, type Duration, Effect, Schema, type Scope } from "effect"
import type { Redis as IORedis } from "ioredis"

export type RedisClient = IORedis

export class RedisError extends Schema.TaggedError<RedisError>()("RedisError", {
  /** What was being done, e.g. "connect", "XADD hecate:history:epoch:300". */
  operation: Schema.String,
  /** The server URL with any password replaced by `***`. */
  url: Schema.String,
  /** The full human message: what happened and what to do. */
  detail: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return this.detail
  }
  /** exit 2 (a usage error) when REDIS_URL itself is wrong; otherwise 1 */
  get exitCode(): number {
    return isMissingDatabase(this.detail) ? 2 : 1
  }
}

/** A connection: the raw client only through `use`, so every failure becomes a RedisError. */
export interface RedisConnection {
  /** The server URL, password redacted: safe to log. */
  readonly url: string
  /** Runs `f` against the client; a rejection becomes a RedisError naming `operation`. */
  readonly use: <A>(f: (client: RedisClient) => Promise<A>, operation?: string) => Effect.Effect<A, RedisError>
}

export interface RedisShape extends RedisConnection {
  /**
   * A dedicated connection to the same server (its own socket), connected before it is returned
   * and closed (QUIT) when the scope closes. For blocking reads and background loops.
   */
  readonly duplicate: (name?: string) => Effect.Effect<RedisConnection, RedisError, Scope.Scope>
}

export class Redis extends Context.Service<Redis, RedisShape>()("hecate/Redis") {}

// ---------------------------------------------------------------------------------------------
// helpers shared by the live layer (and usable by tests)

export { redactUrl, urlPassword } from "../domain/redacted-url.js"
import { redactCredentials } from "../domain/redacted-url.js"

const scrub = (text: string, secret: string | undefined): string =>
  secret === undefined || secret === "" ? text : text.split(secret).join("***")

/**
 * Builds the RedisError for a failure of `operation` against `url` (already redacted). The text
 * says what happened and what to do; `secret` is removed from anything quoted from the driver.
 */
const databaseOf = (url: string): string => {
  try {
    return new URL(url).pathname.slice(1) || "0"
  } catch {
    return "?"
  }
}

/** A database number the server does not have: the user's setting to fix, like any bad REDIS_URL. */
const isMissingDatabase = (detail: string) => detail.startsWith("REDIS_URL names database")

export const toRedisError = (operation: string, url: string, cause: unknown, secret?: string): RedisError => {
  const err = cause as { message?: unknown; code?: unknown } | null | undefined
  const raw = scrub(typeof err?.message === "string" ? err.message : String(cause), secret)
  const code = typeof err?.code === "string" ? err.code : ""
  let detail: string
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(raw)) {
    detail = `Redis at ${url} refused the connection (${operation}): start redis-server or set REDIS_URL`
  } else if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /ENOTFOUND|EAI_AGAIN/.test(raw)) {
    detail = `Redis host of ${url} could not be resolved (${operation}): check the host name in REDIS_URL`
  } else if (/ETIMEDOUT|timed out|timeout/i.test(raw) || code === "ETIMEDOUT") {
    detail = `Redis at ${url} did not answer in time (${operation}): check that the server is up and reachable, or set REDIS_URL`
  } else if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(raw)) {
    detail = `Redis at ${url} rejected the credentials (${operation}): put the right user/password in REDIS_URL`
  } else if (/DB index is out of range/i.test(raw)) {
    detail = `REDIS_URL names database ${databaseOf(url)}, which the Redis server at ${url} does not have (it numbers them from 0 to its \`databases\` setting − 1, 0..15 by default) — e.g. REDIS_URL=redis://127.0.0.1:6379/0`
  } else if (/\bOOM\b|used memory > 'maxmemory'/.test(raw) || /\bOOM\b/.test(String((err as { previousErrors?: unknown } | null)?.previousErrors ?? ""))) {
    detail = `Redis at ${url} is out of memory: it refuses writes (${operation}). Let consumers read and acknowledge the ` +
      `streams so they can be trimmed or purged, or raise maxmemory (keep the noeviction policy: evicting would lose entries)`
  } else if (/max retries per request/i.test(raw)) {
    // ioredis gave up on a command after its reconnects failed: Redis is down or unreachable
    detail = `Redis at ${url} could not be reached (${operation}): the connection is down and the command's retries ran out — ` +
      `check that redis-server is up and reachable at REDIS_URL, then retry`
  } else if (/MaxRetriesPerRequest|Connection is closed|ECONNRESET|EPIPE/i.test(raw)) {
    detail = `Redis at ${url} dropped the connection (${operation}: ${raw}): check the server and retry`
  } else {
    detail = `Redis ${operation} failed at ${url}: ${raw}`
  }
  return new RedisError({ operation, url, detail, cause: scrubCause(cause, secret) })
}

/** Keeps the cause's class and code, but never a text that contains the password. */
const scrubCause = (cause: unknown, secret: string | undefined): unknown => {
  if (secret === undefined || !(cause instanceof Error) || !cause.message.includes(secret)) return cause
  const copy = new Error(scrub(cause.message, secret))
  copy.name = cause.name
  return copy
}

/** The first word(s) of an ioredis command error, for naming the operation when none was given. */
export const operationOf = (cause: unknown): string => {
  const command = (cause as { command?: { name?: unknown } } | null)?.command
  return typeof command?.name === "string" ? command.name.toUpperCase() : "command"
}

/**
 * What went wrong with the connection itself, in a few words ("connect ECONNREFUSED
 * 127.0.0.1:6390", "no answer in time", "the connection closed"); undefined when the server
 * answered and refused (credentials, out of memory, a bad command).
 */
export const connectionProblem = (error: RedisError): string | undefined => {
  const cause = error.cause as { message?: unknown; code?: unknown } | null | undefined
  const text = typeof cause?.message === "string" ? cause.message : ""
  const code = typeof cause?.code === "string" ? cause.code : ""
  if (/^E[A-Z]+$/.test(code) && text !== "") return redactCredentials(text)
  if (/timed out|timeout/i.test(text)) return "no answer in time"
  if (/Connection is closed|Stream isn't writeable|already connect|max retries per request/i.test(text)) return "the connection closed"
  return undefined
}

/**
 * A write a stopping process makes on its way out (a status, a lock's release, a flag cleared):
 * tried for at most `within`, never failing. Finalizers run uninterruptibly, where a timeout could
 * not end a write to a Redis that does not answer (frozen) and the stop would wait on it: the
 * write is made interruptible for its timeout to work.
 */
export const bestEffortAtStop = (within: Duration.Input = "1 second") => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  self.pipe(Effect.interruptible, Effect.timeout(within), Effect.ignore)
