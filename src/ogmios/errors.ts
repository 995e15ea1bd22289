/**
 * Typed failures of the Ogmios client. Every error carries a human `message`; the protocol ones
 * keep the JSON-RPC code and data the server sent so callers can branch on them.
 */
import { Schema } from "effect"
import { TipOrOrigin } from "../domain/point.js"

/** 1000: none of the candidate points is on the server's chain; the cursor did not move. */
export class IntersectionNotFound extends Schema.TaggedError<IntersectionNotFound>()("IntersectionNotFound", {
  message: Schema.String,
  tip: TipOrOrigin
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/** 1001: findIntersection sent while nextBlock requests were still unanswered. */
export class IntersectionInterleaved extends Schema.TaggedError<IntersectionInterleaved>()("IntersectionInterleaved", {
  message: Schema.String
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/** 2001: the query's era and the ledger's era differ (around a hard fork). */
export class EraMismatch extends Schema.TaggedError<EraMismatch>()("EraMismatch", {
  message: Schema.String,
  queryEra: Schema.String,
  ledgerEra: Schema.String
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/**
 * 2002: a ledger-state query while the node's ledger is in the Byron era, which has none of them
 * (the current epoch, era summaries, …). A node syncing from genesis answers it for hours, so it
 * reads as "rerun later" (10), in one line that says why.
 */
export class QueryUnavailableInCurrentEra extends Schema.TaggedError<QueryUnavailableInCurrentEra>()(
  "QueryUnavailableInCurrentEra",
  { message: Schema.String }
) {
  readonly exitCode: number = 10
}

/** Any other JSON-RPC error response (-32600, -32603, 2000, 2003, 2004, ...). */
export class OgmiosRpcError extends Schema.TaggedError<OgmiosRpcError>()("OgmiosRpcError", {
  message: Schema.String,
  code: Schema.Number,
  method: Schema.optionalKey(Schema.String),
  data: Schema.optionalKey(Schema.Unknown)
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/**
 * The socket closed or never opened. `code`/`reason` are the WebSocket close frame's; when the
 * reason is Ogmios' JSON (`{"code":-32000,"message":...}`, node connection lost) it is parsed into
 * `rpcCode`/`rpcMessage`.
 */
export class ConnectionLost extends Schema.TaggedError<ConnectionLost>()("ConnectionLost", {
  message: Schema.String,
  url: Schema.String,
  code: Schema.Number,
  reason: Schema.String,
  rpcCode: Schema.optionalKey(Schema.Number),
  rpcMessage: Schema.optionalKey(Schema.String),
  /** false when the connection never opened (refused, unresolvable, handshake failed) */
  opened: Schema.optionalKey(Schema.Boolean)
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/**
 * A reconnect's cause as a log line reads it: `Ogmios connection lost (…)` for a connection that
 * was open, `Ogmios ws://…: could not connect: <cause>` for one that never opened (it was not lost,
 * and its close code, 1006, says nothing).
 */
export const reconnectCause = (error: { readonly message: string; readonly opened?: boolean | undefined }): string =>
  error.opened === false ? `Ogmios ${error.message}` : `Ogmios connection lost (${error.message})`

/** The ConnectionLost of a connection that never opened: `ws://…: could not connect: <cause>`. */
export const couldNotConnect = (url: string, cause: string): ConnectionLost =>
  new ConnectionLost({ message: `${url}: could not connect: ${cause}`, url, code: 1006, reason: "", opened: false })

/** 30 s, 1.5 s, 250 ms: a timeout as it reads in a message. */
export const formatDuration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`)

/** The RequestTimeout of `method` after `timeoutMs` of silence: "no answer to nextBlock for 30 s". */
export const noAnswer = (method: string, timeoutMs: number): RequestTimeout =>
  new RequestTimeout({ message: `no answer to ${method} for ${formatDuration(timeoutMs)}`, method, timeoutMs })

/** A request (or, while syncing below the tip, the next chain-sync reply) took too long. */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", {
  message: Schema.String,
  method: Schema.String,
  timeoutMs: Schema.Number
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/** A frame that is not JSON, not a JSON-RPC envelope, or lacks the fields the client relies on. */
export class MalformedFrame extends Schema.TaggedError<MalformedFrame>()("MalformedFrame", {
  message: Schema.String,
  /** the start of the offending frame, for logs */
  excerpt: Schema.String
}) {
  /** a failure of the node or the connection, not of Hecate: reported in one line */
  readonly exitCode: number = 1
}

/**
 * Exit 10: no endpoint could be reached, or none answered, through the whole reconnect schedule
 * (an Ogmios that is down or still starting is an operating condition, not a crash: rerun later).
 */
export class OgmiosUnavailable extends Schema.TaggedError<OgmiosUnavailable>()("OgmiosUnavailable", {
  /** what was asked, e.g. queryLedgerState/epoch */
  what: Schema.String,
  attempts: Schema.Number,
  /** the last failure's message */
  cause: Schema.String
}) {
  readonly exitCode = 10
  override get message(): string {
    const retries = this.attempts - 1
    return `Ogmios unavailable: ${this.what} failed ${this.attempts} times (the first try and ${retries} ${retries === 1 ? "retry" : "retries"} ` +
      `of the reconnect schedule), last: ${this.cause}. ` +
      `Check that Ogmios is up and reachable (OGMIOS_ENDPOINTS / --endpoint), then rerun.`
  }
}

export type OgmiosError =
  | OgmiosUnavailable
  | IntersectionNotFound
  | IntersectionInterleaved
  | EraMismatch
  | QueryUnavailableInCurrentEra
  | OgmiosRpcError
  | ConnectionLost
  | RequestTimeout
  | MalformedFrame

const OGMIOS_ERROR_TAGS: ReadonlySet<string> = new Set<OgmiosError["_tag"]>([
  "IntersectionNotFound", "IntersectionInterleaved", "EraMismatch", "QueryUnavailableInCurrentEra",
  "OgmiosRpcError", "ConnectionLost", "RequestTimeout", "MalformedFrame", "OgmiosUnavailable"
])

export const isOgmiosError = (u: unknown): u is OgmiosError =>
  typeof u === "object" && u !== null && "_tag" in u && OGMIOS_ERROR_TAGS.has((u as { _tag: string })._tag)

/** Failures after which a fresh connection may succeed (used by the reconnect policy). */
export const isTransient = (error: OgmiosError): error is ConnectionLost | RequestTimeout =>
  error._tag === "ConnectionLost" || error._tag === "RequestTimeout"

/** Builds ConnectionLost from a close frame, parsing Ogmios' JSON reason when present. */
export const connectionLost = (url: string, code: number, reason: string, fallback = "connection closed"): ConnectionLost => {
  let rpcCode: number | undefined
  let rpcMessage: string | undefined
  if (reason.startsWith("{")) {
    try {
      const parsed = JSON.parse(reason) as { code?: unknown; message?: unknown }
      if (typeof parsed.code === "number") rpcCode = parsed.code
      if (typeof parsed.message === "string") rpcMessage = parsed.message
    } catch {
      // not JSON: keep the raw reason
    }
  }
  const detail = rpcMessage ?? (reason.length > 0 ? reason : fallback)
  return new ConnectionLost({
    message: `${url}: ${detail} (close code ${code})`,
    url,
    code,
    reason,
    ...(rpcCode === undefined ? {} : { rpcCode }),
    ...(rpcMessage === undefined ? {} : { rpcMessage })
  })
}
