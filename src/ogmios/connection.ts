/**
 * One WebSocket to Ogmios. Requests with our own numeric ids are correlated by id, each with a
 * timeout; `nextBlock` goes without an id and its replies (id null, in request order) are handed
 * to `onChainSync`. A keepalive ping detects a dead peer, and the server's close code/reason is
 * surfaced as ConnectionLost. Plain callbacks/promises: this sits on the hot path, the Effect
 * service and the RxJS source both wrap it.
 */
import type { Socket } from "node:net"
import WebSocket from "ws"
import { stringify } from "../json/lossless.js"
import { connectionLost, ConnectionLost, couldNotConnect, MalformedFrame, noAnswer, type OgmiosError } from "./errors.js"
import { decodeForwardBytes, decodeFrame, isErrorFrame, malformed, type ResponseFrame } from "./frame.js"
import { fromRpcError, Method, NEXT_BLOCK_FRAME, request } from "./protocol.js"

export interface ConnectionOptions {
  /** default timeout of `request`, ms (default 30 000) */
  readonly requestTimeout?: number
  /**
   * opening handshake timeout, ms (default: `requestTimeout`, so HECATE_REQUEST_TIMEOUT_MS bounds a
   * server that accepts the TCP connection and never answers the upgrade as it bounds a request)
   */
  readonly connectTimeout?: number
  /** ping period, ms; the peer is declared dead when a period passes with no pong nor frame (default 30 000, 0 = off) */
  readonly keepAliveInterval?: number
  /** largest accepted frame, bytes (default 128 MiB like the official client: blocks can be large) */
  readonly maxPayload?: number
}

/** Why the connection ended: the close frame, a dead peer, or a frame we could not read. */
export type ConnectionEnd = ConnectionLost | MalformedFrame

interface Pending {
  readonly method: string
  readonly resolve: (result: unknown) => void
  readonly reject: (error: OgmiosError) => void
  readonly timer: NodeJS.Timeout | undefined
}

export const DEFAULT_MAX_PAYLOAD = 128 * 1024 * 1024

/** 140 MB, 128 MiB, 512 B: how a frame size reads in a log line. */
export const formatBytes = (n: number): string => {
  const mib = n / (1024 * 1024)
  if (Number.isInteger(mib) && mib >= 1) return `${mib} MiB`
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`
  return `${n} B`
}

// What ws' receiver knows when a connection ends: the length a frame announced and how much of it
// arrived. ws 8 keeps both on its receiver only (no public API); when the fields are missing the
// messages fall back to the close code alone.
interface ReceiverState {
  readonly _state?: number
  readonly _bufferedBytes?: number
  readonly _opcode?: number
  readonly _payloadLength?: number
  readonly _totalPayloadLength?: number
}
const receiverOf = (ws: WebSocket): ReceiverState | undefined => (ws as unknown as { _receiver?: ReceiverState })._receiver

const announcedLength = (ws: WebSocket): number | undefined => {
  const r = receiverOf(ws)
  const n = r?._totalPayloadLength ?? r?._payloadLength
  return typeof n === "number" && n > 0 ? n : undefined
}

/** "closed mid-frame (… of … received)" when the connection ended inside a frame. */
const midFrame = (ws: WebSocket): string | undefined => {
  const r = receiverOf(ws)
  if (r === undefined || typeof r._state !== "number" || typeof r._bufferedBytes !== "number") return undefined
  // state 0 = waiting for a frame header with nothing buffered: the connection ended between frames
  if (r._state === 0 && r._bufferedBytes === 0) return undefined
  const length = r._payloadLength
  // state 4 = reading a frame's payload, of which `_bufferedBytes` arrived. The receiver can also
  // be in that state while the frame's message is still being handled (its payload taken, the
  // message totals reset): what is buffered then is not this frame's, so no sizes are claimed.
  const reading = r._state === 4 && typeof length === "number" && length > 0 && r._bufferedBytes < length &&
    ((r._opcode ?? 0) >= 0x08 || (r._totalPayloadLength ?? 0) > 0)
  return reading
    ? `closed mid-frame (${formatBytes(r._bufferedBytes)} of a ${formatBytes(length)} frame received)`
    : "closed mid-frame"
}

export class OgmiosConnection {
  /** Receives every chain-sync reply (frames with a null id), in order. */
  onChainSync: ((frame: ResponseFrame, text: string) => void) | undefined = undefined
  /**
   * Chain-sync blocks as their text, with only the header parsed (src/domain/block-text.ts), when
   * the frame allows it; set by a consumer that only writes blocks out again (the backfill).
   */
  blockText = false
  /** Called once when the connection ends for any reason other than `close()`. */
  onEnd: ((error: ConnectionEnd) => void) | undefined = undefined

  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private ended: ConnectionEnd | undefined
  private alive = true
  private readonly keepAlive: NodeJS.Timeout | undefined

  private constructor(
    readonly url: string,
    private readonly ws: WebSocket,
    private readonly requestTimeout: number,
    keepAliveInterval: number,
    private readonly maxPayload: number
  ) {
    ws.on("message", this.onMessage)
    ws.on("pong", this.markAlive)
    let oversize: number | undefined
    let unreadable: string | undefined
    ws.once("close", (code: number, reason: Buffer) => {
      const cause = oversize !== undefined
        ? `frame of ${formatBytes(oversize)} exceeds the ${formatBytes(this.maxPayload)} limit`
        : unreadable ?? midFrame(ws)
      this.end(cause === undefined ? connectionLost(url, code, reason.toString()) : connectionLost(url, code, "", cause))
    })
    ws.on("error", (error: Error & { code?: string }) => {
      // 'close' follows every 'error' and is what we report; a frame the WebSocket refused is named there
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") oversize = announcedLength(ws) ?? this.maxPayload + 1
      else if (error.code === "WS_ERR_INVALID_UTF8") unreadable = "received a text frame that is not valid UTF-8"
      else if (error.code?.startsWith("WS_ERR_") === true) unreadable = `received a frame the WebSocket refused: ${error.message}`
    })
    if (keepAliveInterval > 0) {
      this.keepAlive = setInterval(() => {
        if (!this.alive) {
          this.end(connectionLost(url, 1006, "", "no pong within the keepalive interval (dead peer)"))
          ws.terminate()
          return
        }
        this.alive = false
        ws.ping()
      }, keepAliveInterval)
    }
  }

  /** Opens a connection; rejects with ConnectionLost if the handshake fails or times out. */
  static open(url: string, options: ConnectionOptions = {}): Promise<OgmiosConnection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket
      try {
        ws = new WebSocket(url, {
          maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
          handshakeTimeout: options.connectTimeout ?? options.requestTimeout ?? 10_000,
          perMessageDeflate: false
        })
      } catch (error) {
        reject(couldNotConnect(url, error instanceof Error ? error.message : String(error)))
        return
      }
      let lastError = ""
      const onError = (error: Error) => {
        lastError = error.message
      }
      const onClose = (code: number, reason: Buffer) => {
        ws.off("error", onError)
        // it never opened: the cause is the socket's error (ECONNREFUSED, a failed handshake), not a close code
        reject(reason.length > 0 ? connectionLost(url, code, reason.toString()) : couldNotConnect(url, lastError || "connection refused"))
      }
      ws.on("error", onError)
      ws.once("close", onClose)
      ws.once("open", () => {
        ws.off("error", onError)
        ws.off("close", onClose)
        resolve(new OgmiosConnection(
          url,
          ws,
          options.requestTimeout ?? 30_000,
          options.keepAliveInterval ?? 30_000,
          options.maxPayload ?? DEFAULT_MAX_PAYLOAD
        ))
      })
    })
  }

  get isOpen(): boolean {
    return this.ended === undefined && this.ws.readyState === WebSocket.OPEN
  }

  /** Sends a request with a fresh id and resolves with its `result`; error responses reject typed. */
  request(method: string, params?: unknown, timeoutMs: number = this.requestTimeout): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.ended !== undefined) return reject(this.ended)
      const id = ++this.nextId
      const timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
          this.pending.delete(id)
          reject(noAnswer(method, timeoutMs))
        }, timeoutMs)
        : undefined
      this.pending.set(id, { method, resolve, reject, timer })
      this.ws.send(stringify(request(method, params, id)))
    })
  }

  /** Pipelines `n` nextBlock requests (replies arrive through `onChainSync`, in order). */
  nextBlock(n = 1): void {
    if (this.ended !== undefined) return
    // ws writes every frame with its own syscall; corking the socket makes a batch one writev
    const socket = n > 1 ? (this.ws as unknown as { _socket?: Socket })._socket : undefined
    socket?.cork()
    for (let i = 0; i < n; i++) this.ws.send(NEXT_BLOCK_FRAME)
    socket?.uncork()
  }

  /** Closes the socket; pending requests reject with ConnectionLost. `onEnd` is not called. */
  close(code = 1000, reason = "client closed"): void {
    this.onEnd = undefined
    this.onChainSync = undefined
    this.end(connectionLost(this.url, code, reason))
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason)
  }

  /** Drops the socket without a close handshake (used when the peer misbehaves). */
  terminate(error: ConnectionEnd): void {
    this.end(error)
    this.ws.terminate()
  }

  private readonly markAlive = () => {
    this.alive = true
  }

  private readonly onMessage = (data: WebSocket.RawData) => {
    this.alive = true
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    // a forward frame is a chain-sync reply (id null): the bytes path needs none of the checks below
    const forward = this.blockText ? decodeForwardBytes(bytes) : undefined
    if (forward !== undefined) return this.onChainSync?.(forward.frame, forward.text)
    const text = bytes.toString()
    const frame = decodeFrame(text)
    if (frame instanceof MalformedFrame) return this.terminate(frame)
    const id = frame.id
    if (id !== null && id !== undefined) {
      const pending = typeof id === "number" ? this.pending.get(id) : undefined
      if (pending === undefined) {
        // a reply that already timed out carries an id we issued; any other id answers nothing we
        // sent (and may be a chain-sync reply under a wrong id): dropping it would lose a block
        if (typeof id === "number" && Number.isInteger(id) && id >= 1 && id <= this.nextId) return
        return this.terminate(malformed(`a reply to no request sent (id ${stringify(id)})`, text))
      }
      this.pending.delete(id as number)
      if (pending.timer !== undefined) clearTimeout(pending.timer)
      if (isErrorFrame(frame)) pending.reject(fromRpcError(frame.error, frame.method ?? pending.method))
      else pending.resolve(frame.result)
      return
    }
    // nextBlock replies carry id null; so do pre-routing errors (no method) for them
    if (frame.method === undefined || frame.method === Method.nextBlock) this.onChainSync?.(frame, text)
  }

  private end(error: ConnectionEnd): void {
    if (this.ended !== undefined) return
    this.ended = error
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive)
    for (const pending of this.pending.values()) {
      if (pending.timer !== undefined) clearTimeout(pending.timer)
      pending.reject(error)
    }
    this.pending.clear()
    const onEnd = this.onEnd
    this.onEnd = undefined
    onEnd?.(error)
  }
}
