/**
 * The Ogmios-protocol server: WebSocket JSON-RPC 2.0 (chain sync + network/ledger queries) and
 * HTTP `GET /health` on one port, serving a `Chain`. One chain-sync cursor per connection.
 *
 * nextBlock replies are produced by an asynchronous pump (setImmediate), like Ogmios waiting on
 * its node, so a findIntersection that arrives while nextBlocks are unanswered gets error 1001
 * ahead of them. Forward frames are concatenated from cached buffers (block JSON, tip JSON): the
 * block is never re-serialised.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket, WebSocketServer } from "ws"
import type { PointOrOrigin } from "../domain/point.js"
import { parse, stringify } from "../json/lossless.js"
import type { Chain, ChainChange } from "./chain.js"
import { conwayGenesis } from "./genesis.js"
import { LEDGER_QUERIES, type LedgerPoint, ledgerPointAt, LedgerState } from "./ledger.js"
import type { Era } from "./mainnet.js"

export interface ServerOptions {
  /** Default "127.0.0.1". */
  readonly host?: string
  /** Default 1337; 0 picks an ephemeral port. */
  readonly port?: number
  /** `version` in /health. Default "v6.14.0 (simulator)". */
  readonly version?: string
}

export interface ServerStats {
  /** frames sent, all kinds */
  messagesSent: number
  /** nextBlock forward frames sent */
  blocksServed: number
  /** nextBlock backward frames sent */
  rollbacksServed: number
  bytesSent: number
  /** requests received */
  messagesReceived: number
  unrouted: number
  totalConnections: number
}

const A = (text: string) => Buffer.from(text, "latin1")
const FORWARD_HEAD = A(`{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":`)
const FORWARD_TIP = A(`,"tip":`)
const FORWARD_ID = A(`},"id":`)
const CLOSE = A(`}`)
const NULL_ID = A("null")

const PARAMETERLESS = new Set([
  "nextBlock",
  "queryNetwork/tip",
  "queryNetwork/blockHeight",
  "queryNetwork/startTime",
  "queryLedgerState/epoch",
  "queryLedgerState/eraSummaries",
  "queryLedgerState/tip",
  "releaseLedgerState"
])

/** Methods answered by the server itself (the other ledger-state queries are LedgerState's). */
const SERVED = new Set([
  ...PARAMETERLESS,
  "findIntersection",
  "acquireLedgerState",
  "queryNetwork/genesisConfiguration"
])

/** A ledger state queries run against: the acquired point, or else the volatile tip. */
interface LedgerView {
  readonly point: PointOrOrigin
  readonly height: number | "origin"
  readonly slot: number
  readonly era: Era
  readonly ledger: LedgerPoint
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isPoint = (value: unknown): value is PointOrOrigin =>
  value === "origin" ||
  (isPlainObject(value) &&
    typeof value.slot === "number" &&
    Number.isSafeInteger(value.slot) &&
    value.slot >= 0 &&
    typeof value.id === "string" &&
    /^[0-9a-f]{64}$/.test(value.id))

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z")

class Session {
  /** index of the last block the client has; -1 = origin */
  cursor = -1
  /** next nextBlock reply is a backward to `cursor` (fresh connection, intersection, fork) */
  backwardPending = true
  /** ids (as JSON text) of unanswered nextBlock requests, in order */
  readonly pending: Array<string> = []
  pumpScheduled = false
  closed = false
  /** frames left before a scripted drop, or undefined */
  dropBudget: number | undefined
  /** the ledger state acquired with acquireLedgerState, until released */
  acquired: LedgerView | undefined
  readonly openedAt = Date.now()

  constructor(readonly ws: WebSocket) {}
}

export class SimulatorServer {
  readonly stats: ServerStats = {
    messagesSent: 0,
    blocksServed: 0,
    rollbacksServed: 0,
    bytesSent: 0,
    messagesReceived: 0,
    unrouted: 0,
    totalConnections: 0
  }
  private readonly sessions = new Set<Session>()
  private readonly sessionDurations: Array<number> = []
  private http: Server | undefined
  private wss: WebSocketServer | undefined
  private readonly unsubscribe: () => void
  private readonly startTime = new Date()
  private lastTipUpdate = new Date()
  private tipBuffer: { json: string; buf: Buffer } = { json: "", buf: Buffer.alloc(0) }
  private readonly version: string
  private readonly host: string
  private boundPort: number
  // ---- scripted faults
  private delayMs = 0
  private dropRule: { readonly after: number; readonly repeat: boolean } | undefined
  private conwayV7: ReturnType<typeof conwayGenesis> | undefined
  private ledgerState: LedgerState | undefined

  constructor(
    readonly chain: Chain,
    options: ServerOptions = {}
  ) {
    this.version = options.version ?? "v6.14.0 (simulator)"
    this.host = options.host ?? "127.0.0.1"
    this.boundPort = options.port ?? 1337
    this.unsubscribe = chain.subscribe((change) => this.onChainChange(change))
  }

  get port(): number {
    return this.boundPort
  }

  get listening(): boolean {
    return this.http !== undefined
  }

  get activeConnections(): number {
    return this.sessions.size
  }

  /** Starts listening (again) on the configured port, or the port of the previous run. */
  async listen(): Promise<number> {
    if (this.http) return this.boundPort
    const http = createServer((req, res) => this.onHttp(req, res))
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject)
      http.listen(this.boundPort, this.host, () => {
        http.off("error", reject)
        resolve()
      })
    })
    // attached once the port is bound: a WebSocketServer re-emits its HTTP server's errors, and a
    // port in use would otherwise reach it (with no listener: an uncaught 'error' event) as well as
    // rejecting this promise
    const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 * 1024 })
    wss.on("connection", (ws) => this.onConnection(ws))
    this.boundPort = (http.address() as AddressInfo).port
    this.http = http
    this.wss = wss
    return this.boundPort
  }

  /** Stops listening and drops every connection (abruptly, like a crashed server). The chain is kept. */
  async close(): Promise<void> {
    const http = this.http
    const wss = this.wss
    if (!http || !wss) return
    this.http = undefined
    this.wss = undefined
    for (const session of this.sessions) session.ws.terminate()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }

  /** Stops for good: also detaches from the chain. */
  async dispose(): Promise<void> {
    this.unsubscribe()
    await this.close()
  }

  // ------------------------------------------------------------------ faults

  /** Delays every frame sent from now on by `ms` (0 = no delay). Order is kept. */
  setDelay(ms: number): void {
    this.delayMs = Math.max(0, ms)
  }

  /**
   * Drops (TCP reset) connections after they send `after` more frames: those open now and those
   * opened later. With `repeat: false` (default) the rule is cleared after the first drop.
   */
  dropAfter(after: number, options: { readonly repeat?: boolean } = {}): void {
    this.dropRule = { after, repeat: options.repeat ?? false }
    for (const session of this.sessions) session.dropBudget = after
  }

  clearFaults(): void {
    this.delayMs = 0
    this.dropRule = undefined
    for (const session of this.sessions) session.dropBudget = undefined
  }

  /** Sends a frame that is not valid JSON to every open connection; returns how many got it. */
  sendMalformed(text = `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forw`): number {
    let n = 0
    for (const session of this.sessions) {
      this.send(session, text)
      n++
    }
    return n
  }

  // ------------------------------------------------------------------ connections

  private onConnection(ws: WebSocket) {
    const session = new Session(ws)
    if (this.dropRule) session.dropBudget = this.dropRule.after
    this.sessions.add(session)
    this.stats.totalConnections++
    ws.on("message", (data, isBinary) => this.onMessage(session, data as Buffer, isBinary))
    ws.on("close", () => this.onClose(session))
    ws.on("error", () => ws.terminate())
  }

  private onClose(session: Session) {
    if (session.closed) return
    session.closed = true
    this.sessions.delete(session)
    this.sessionDurations.push(Date.now() - session.openedAt)
    if (this.sessionDurations.length > 1000) this.sessionDurations.shift()
  }

  private send(session: Session, frame: string | Buffer) {
    if (session.closed) return
    const deliver = () => {
      if (session.closed || session.ws.readyState !== WebSocket.OPEN) return
      session.ws.send(frame, { binary: false })
      this.stats.messagesSent++
      this.stats.bytesSent += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length
      if (session.dropBudget !== undefined && --session.dropBudget <= 0) {
        session.ws.terminate()
        this.onClose(session)
        if (this.dropRule && !this.dropRule.repeat) this.clearDropRule()
      }
    }
    if (this.delayMs > 0) setTimeout(deliver, this.delayMs)
    else deliver()
  }

  private clearDropRule() {
    this.dropRule = undefined
    for (const s of this.sessions) s.dropBudget = undefined
  }

  private reply(session: Session, method: string, result: unknown, id: string) {
    this.send(session, `{"jsonrpc":"2.0","method":"${method}","result":${stringify(result)},"id":${id}}`)
  }

  /**
   * The error of a routed request carries its `method`, as every Ogmios error reply does (its
   * --strict-rpc mode drops `method` from successful replies only), and the schemas require it.
   */
  private replyError(session: Session, method: string | undefined, code: number, message: string, data: unknown, id: string) {
    const m = method === undefined ? "" : `"method":"${method}",`
    const d = data === undefined ? "" : `,"data":${stringify(data)}`
    this.send(session, `{"jsonrpc":"2.0",${m}"error":{"code":${code},"message":${JSON.stringify(message)}${d}},"id":${id}}`)
  }

  /**
   * What Ogmios answers to any request it cannot route (not JSON, not an object, an unknown
   * method, a bad envelope or bad parameters): -32600 "Invalid request: …", without `method`, with
   * the request's id (null when none could be read). Ogmios uses none of -32700, -32601 or
   * -32602 on this path (-32602 only for a transaction that fails to deserialise).
   */
  private invalid(session: Session, reason: string, id: string) {
    this.stats.unrouted++
    this.replyError(session, undefined, -32600, `Invalid request: ${reason}`, undefined, id)
  }

  private onMessage(session: Session, data: Buffer, isBinary: boolean) {
    this.stats.messagesReceived++
    let request: unknown
    try {
      request = parse(isBinary ? data.toString("utf8") : data.toString("utf8"))
    } catch {
      return this.invalid(session, "must be a well-formed JSON object.", "null")
    }
    if (!isPlainObject(request)) return this.invalid(session, "must be a well-formed JSON object.", "null")
    const id = "id" in request ? stringify(request.id) : "null"
    // checked in Ogmios' order: the method first, then the envelope of a known method
    const method = request.method
    if (typeof method !== "string") return this.invalid(session, "field 'method' must be present and be a string.", id)
    if (!SERVED.has(method) && !(method.startsWith("queryLedgerState/") && LEDGER_QUERIES.has(method.slice("queryLedgerState/".length)))) {
      return this.invalid(session, "unknown method in 'method' (beware names are case-sensitive).", id)
    }
    if (request.jsonrpc === undefined) return this.invalid(session, "missing required field 'jsonrpc'.", id)
    if (request.jsonrpc !== "2.0") return this.invalid(session, "invalid value for field 'jsonrpc': should be '2.0'.", id)
    const params = request.params
    if (PARAMETERLESS.has(method) && params !== undefined && !(isPlainObject(params) && Object.keys(params).length === 0)) {
      return this.invalid(session, `'${method}' takes no parameters.`, id)
    }
    switch (method) {
      case "nextBlock":
        session.pending.push(id)
        return this.schedulePump(session)
      case "findIntersection":
        return this.findIntersection(session, params, id)
      case "acquireLedgerState":
        return this.acquire(session, params, id)
      case "releaseLedgerState":
        session.acquired = undefined
        return this.reply(session, method, { released: "ledgerState" }, id)
      // chain point, block height and the ledger queries answer for the acquired state if any
      case "queryNetwork/tip":
        return this.reply(session, method, this.view(session).point, id)
      case "queryNetwork/blockHeight":
        return this.reply(session, method, this.view(session).height, id)
      case "queryNetwork/startTime":
        return this.reply(session, method, isoSeconds(this.chain.network.systemStart), id)
      case "queryLedgerState/tip":
      case "queryLedgerState/epoch": {
        const view = this.view(session)
        // Shelley-based queries: a ledger still in Byron cannot answer them
        if (view.era === "byron") return this.replyError(session, method, 2002, "Query unavailable in the current era.", undefined, id)
        return this.reply(session, method, method === "queryLedgerState/tip" ? view.point : this.chain.network.epochOf(view.slot), id)
      }
      case "queryLedgerState/eraSummaries":
        return this.reply(session, method, this.chain.network.eraSummaries(this.view(session).slot), id)
      case "queryNetwork/genesisConfiguration": {
        const era = isPlainObject(params) ? params.era : undefined
        if (!isPlainObject(params) || Object.keys(params).length !== 1 || typeof era !== "string" || !["byron", "shelley", "alonzo", "conway"].includes(era)) {
          return this.invalid(session, "'queryNetwork/genesisConfiguration' expects params {\"era\": \"byron\" | \"shelley\" | \"alonzo\" | \"conway\"}.", id)
        }
        // as in Ogmios, reading a genesis file releases an acquired ledger state
        session.acquired = undefined
        const genesis = this.chain.genesis
        const result =
          era === "byron" ? genesis.byron : era === "shelley" ? genesis.shelley : era === "alonzo" ? genesis.alonzo : this.conwayGenesis()
        return this.reply(session, method, result, id)
      }
      default: {
        if (method.startsWith("queryLedgerState/")) {
          const view = this.view(session)
          this.ledgerState ??= new LedgerState(this.chain, this.version.startsWith("v7"))
          const answer = this.ledgerState.answer(method.slice("queryLedgerState/".length), view.ledger, params)
          if (answer !== undefined) {
            if ("invalid" in answer) return this.invalid(session, `${answer.invalid}.`, id)
            if ("error" in answer) return this.replyError(session, method, answer.error.code, answer.error.message, answer.error.data, id)
            return this.reply(session, method, answer.result, id)
          }
        }
        return this.invalid(session, "unknown method in 'method' (beware names are case-sensitive).", id)
      }
    }
  }

  private view(session: Session): LedgerView {
    return session.acquired ?? this.viewAt(this.chain.tipIndex, false)
  }

  /** `frozen`: an acquired state, which keeps answering for its blocks whatever the chain does next. */
  private viewAt(index: number, frozen: boolean): LedgerView {
    const tip = this.chain.tipAt(index)
    const ledger = ledgerPointAt(this.chain, index, frozen)
    return {
      point: this.chain.pointAt(index),
      height: tip === "origin" ? "origin" : tip.height,
      slot: ledger.slot,
      era: ledger.era,
      ledger
    }
  }

  /**
   * acquireLedgerState: a point of the current chain within the last k blocks (the node keeps the
   * ledger states of its volatile chain only), or origin while the chain is no longer than k.
   * Re-acquiring replaces the acquired state. A failed (re-)acquire leaves none, as in the
   * local-state-query protocol (MsgFailure returns the client to StIdle, where Ogmios runs each
   * query against the volatile tip); a request that does not decode changes nothing.
   */
  private acquire(session: Session, params: unknown, id: string) {
    const point = isPlainObject(params) ? params.point : undefined
    if (!isPlainObject(params) || Object.keys(params).length !== 1 || !isPoint(point)) {
      return this.invalid(session, "'acquireLedgerState' expects params {\"point\": Point | \"origin\"}.", id)
    }
    const index = this.chain.find(point)
    if (index === undefined || index < this.chain.tipIndex - this.chain.network.securityParameter) {
      session.acquired = undefined
      const reason = index === undefined ? "Target doesn't or no longer exist." : "Target point is too old."
      return this.replyError(session, "acquireLedgerState", 2000, "Failed to acquire requested point.", reason, id)
    }
    session.acquired = this.viewAt(index, true)
    return this.reply(session, "acquireLedgerState", { acquired: "ledgerState", point: session.acquired.point }, id)
  }

  /** Ogmios v7 adds the Plutus V3 cost model and the fee per byte of scripts in reference inputs to the Conway genesis. */
  private conwayGenesis() {
    if (!this.version.startsWith("v7")) return this.chain.genesis.conway
    this.conwayV7 ??= conwayGenesis(this.chain.seed, true)
    return this.conwayV7
  }

  private findIntersection(session: Session, params: unknown, id: string) {
    const points = isPlainObject(params) ? params.points : undefined
    if (!Array.isArray(points) || !points.every(isPoint)) {
      return this.invalid(session, "'findIntersection' expects params {\"points\": [Point | \"origin\", ...]}.", id)
    }
    if (session.pending.length > 0) {
      return this.replyError(
        session,
        "findIntersection",
        1001,
        "Cannot interleave 'findIntersection' requests with 'nextBlock'. Note that you should never face this error. If you do, please open an issue.",
        undefined,
        id
      )
    }
    for (const point of points) {
      const index = this.chain.find(point)
      if (index !== undefined) {
        session.cursor = index
        session.backwardPending = true
        return this.reply(session, "findIntersection", { intersection: this.chain.pointAt(index), tip: this.chain.tip() }, id)
      }
    }
    return this.replyError(session, "findIntersection", 1000, "No intersection found.", { tip: this.chain.tip() }, id)
  }

  // ------------------------------------------------------------------ chain sync pump

  private schedulePump(session: Session) {
    if (session.pumpScheduled || session.closed) return
    session.pumpScheduled = true
    setImmediate(() => this.pump(session))
  }

  private tipBuf(): Buffer {
    const json = this.chain.tipJson()
    if (this.tipBuffer.json !== json) this.tipBuffer = { json, buf: A(json) }
    return this.tipBuffer.buf
  }

  private pump(session: Session) {
    session.pumpScheduled = false
    const chain = this.chain
    while (session.pending.length > 0 && !session.closed) {
      if (session.backwardPending) {
        const id = session.pending.shift()!
        session.backwardPending = false
        this.stats.rollbacksServed++
        this.send(
          session,
          `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"backward","point":${stringify(chain.pointAt(session.cursor))},"tip":${chain.tipJson()}},"id":${id}}`
        )
      } else if (session.cursor < chain.tipIndex) {
        const id = session.pending.shift()!
        session.cursor++
        const block = chain.blockBuffer(session.cursor)
        const idBuf = id === "null" ? NULL_ID : Buffer.from(id)
        this.stats.blocksServed++
        this.send(session, Buffer.concat([FORWARD_HEAD, block, FORWARD_TIP, this.tipBuf(), FORWARD_ID, idBuf, CLOSE]))
      } else {
        break // at the tip: the request waits for a new block or a rollback
      }
    }
  }

  private onChainChange(change: ChainChange) {
    this.lastTipUpdate = new Date()
    for (const session of this.sessions) {
      if (change.kind === "rollback" && session.cursor > change.forkIndex) {
        session.cursor = change.forkIndex
        session.backwardPending = true
      }
      if (session.pending.length > 0) this.schedulePump(session)
    }
  }

  // ------------------------------------------------------------------ HTTP

  private onHttp(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0]
    if (req.method === "GET" && path === "/health") {
      const { status, body } = this.health()
      res.writeHead(status, { "Content-Type": "application/json;charset=utf-8", "Access-Control-Allow-Origin": "*" })
      res.end(body)
      return
    }
    res.writeHead(404, { "Content-Type": "text/plain" })
    res.end("Not Found")
  }

  /** The /health body (spec §1): 200 when synchronised (tip within 60 s of now), else 202. */
  health(): { status: number; body: string } {
    const chain = this.chain
    const tip = chain.tip()
    const now = Date.now()
    const start = chain.network.systemStart.getTime()
    let sync = 1
    let era: string | null = null
    let epoch: number | null = null
    let slotInEpoch: number | null = null
    if (tip !== "origin") {
      const tipTime = chain.network.slotToUnixMs(tip.slot)
      sync = now - tipTime <= 60_000 ? 1 : Math.floor(((tipTime - start) / Math.max(1, now - start)) * 100_000) / 100_000
      era = chain.eraAt(chain.tipIndex)
      epoch = chain.currentEpoch()
      slotInEpoch = tip.slot - chain.network.epochStartSlot(epoch)
    }
    const durations = this.sessionDurations
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    const metrics = {
      runtimeStats: {
        gcCpuTime: 0,
        cpuTime: Math.round((cpu.user + cpu.system) / 1000),
        maxHeapSize: memory.heapTotal,
        currentHeapSize: memory.heapUsed
      },
      activeConnections: this.sessions.size,
      totalConnections: this.stats.totalConnections,
      sessionDurations: {
        max: durations.length ? Math.max(...durations) : 0,
        mean: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : 0,
        min: durations.length ? Math.min(...durations) : 0
      },
      totalMessages: this.stats.messagesReceived,
      totalUnrouted: this.stats.unrouted
    }
    const network = chain.network.kind === "mainnet-shaped" ? "mainnet" : `unknown (${chain.network.networkMagic})`
    const body =
      `{"startTime":"${isoSeconds(this.startTime)}","lastKnownTip":${chain.tipJson()},"lastTipUpdate":"${isoSeconds(this.lastTipUpdate)}",` +
      `"networkSynchronization":${sync.toFixed(5)},"currentEra":${JSON.stringify(era)},"metrics":${JSON.stringify(metrics)},` +
      `"connectionStatus":"connected","currentEpoch":${JSON.stringify(epoch)},"slotInEpoch":${JSON.stringify(slotInEpoch)},` +
      `"version":${JSON.stringify(this.version)},"network":${JSON.stringify(network)}}`
    return { status: sync.toFixed(5) === "1.00000" ? 200 : 202, body }
  }
}
