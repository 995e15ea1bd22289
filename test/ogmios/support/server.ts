/**
 * A small scripted Ogmios-protocol server for the client's edge cases. It speaks the real v6
 * protocol: id echo (null when absent), method echo, a backward to the intersection first,
 * in-order pipelined nextBlock replies, replies held at the tip until a block is forged, and 1000 /
 * 1001 errors. Hooks let a test drop connections, delay replies, inject frames, close with a
 * reason, and script query replies. It keeps per-connection counters (outstanding requests) so
 * tests can check the client's credit discipline from the server's side.
 */
import { createHash } from "node:crypto"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer, type WebSocket } from "ws"
import { stringify } from "../../../src/json/lossless.js"

export interface TestBlock {
  readonly type: "praos"
  readonly era: string
  readonly id: string
  readonly ancestor: string
  readonly height: number
  readonly slot: number
  readonly size: { readonly bytes: number }
  readonly issuer: { readonly verificationKey: string }
  readonly protocol: { readonly version: { readonly major: number; readonly minor: number } }
  readonly transactions: ReadonlyArray<unknown>
}

export type Point = { readonly slot: number; readonly id: string } | "origin"

const hash = (text: string) => createHash("sha256").update(text).digest("hex")

export const makeBlock = (branch: string, height: number, ancestor: string, padding = 0): TestBlock => ({
  type: "praos",
  era: "babbage",
  id: hash(`${branch}/${height}`),
  ancestor,
  height,
  slot: height * 20 + (branch === "main" ? 0 : 1),
  size: { bytes: 100 + padding },
  issuer: { verificationKey: hash(`issuer/${height}`) },
  protocol: { version: { major: 8, minor: 0 } },
  transactions: padding > 0 ? [{ id: hash(`tx/${branch}/${height}`), metadata: { blob: "ab".repeat(padding >> 1) } }] : []
})

export const pointOf = (b: TestBlock): Point => ({ slot: b.slot, id: b.id })
const tipOf = (b: TestBlock | undefined) => (b === undefined ? "origin" : { slot: b.slot, id: b.id, height: b.height })

interface Session {
  readonly ws: WebSocket
  /** blocks[0 .. cursor-1] have been sent on the server's current chain */
  cursor: number
  /** a backward owed before anything else (intersection or fork): the cursor to roll back to */
  rollbackTo: number | undefined
  /** nextBlock requests received and not yet answered */
  waiting: number
  maxOutstanding: number
  replies: number
  /** drop the socket after this many more replies */
  dropAfter: number | undefined
  queue: Promise<void>
}

export interface TestServerOptions {
  /** initial chain length */
  readonly blocks?: number
  /** approximate extra bytes per block */
  readonly padding?: number
  /** delay before each nextBlock reply, ms */
  readonly replyDelay?: number
}

export type QueryHandler = (params: unknown) => { result: unknown } | { error: { code: number; message: string; data?: unknown } } | "ignore"

export const startTestServer = async (options: TestServerOptions = {}) => {
  let chain: Array<TestBlock> = []
  let branchNo = 0
  const padding = options.padding ?? 0
  const sessions = new Set<Session>()
  const stats = { connections: 0, nextBlockRequests: 0, findIntersections: 0, maxOutstanding: 0, received: [] as Array<unknown> }
  const queries = new Map<string, QueryHandler>()
  let replyDelay = options.replyDelay ?? 0
  let dropAfterNext: Array<number> = []

  const forge = (n: number, branch = branchNo === 0 ? "main" : `fork${branchNo}`) => {
    for (let i = 0; i < n; i++) {
      const parent = chain.at(-1)
      chain.push(makeBlock(branch, chain.length + 1, parent?.id ?? "genesis", padding))
    }
    for (const s of sessions) serve(s)
  }

  /** Replaces the newest `depth` blocks by `length` blocks of a new branch. */
  const fork = (depth: number, length = depth + 1) => {
    const keep = chain.length - depth
    chain = chain.slice(0, keep)
    for (const s of sessions) {
      if (s.cursor > keep) s.rollbackTo = Math.min(s.rollbackTo ?? keep, keep)
    }
    branchNo++
    forge(length)
  }

  const send = (s: Session, method: string | undefined, body: object, id: unknown) =>
    s.ws.send(stringify({ jsonrpc: "2.0", ...(method === undefined ? {} : { method }), ...body, id: id ?? null }))

  const nextReply = (s: Session): object | undefined => {
    if (s.rollbackTo !== undefined) {
      const to = s.rollbackTo
      s.rollbackTo = undefined
      s.cursor = to
      const point = to === 0 ? "origin" : pointOf(chain[to - 1]!)
      return { direction: "backward", point, tip: tipOf(chain.at(-1)) }
    }
    const block = chain[s.cursor]
    if (block === undefined) return undefined // at the tip: hold the request
    s.cursor++
    return { direction: "forward", block, tip: tipOf(chain.at(-1)) }
  }

  const serve = (s: Session) => {
    s.queue = s.queue.then(async () => {
      while (s.waiting > 0 && s.ws.readyState === s.ws.OPEN) {
        if (replyDelay > 0) await new Promise((r) => setTimeout(r, replyDelay))
        if (s.ws.readyState !== s.ws.OPEN) return
        const result = nextReply(s)
        if (result === undefined) return
        s.waiting--
        s.replies++
        send(s, "nextBlock", { result }, null)
        if (s.dropAfter !== undefined && --s.dropAfter <= 0) {
          s.dropAfter = undefined
          s.ws.terminate()
          return
        }
      }
    })
  }

  const findIntersection = (points: ReadonlyArray<Point>): number | undefined => {
    for (const p of points) {
      if (p === "origin") return 0
      const i = chain.findIndex((b) => b.id === p.id && b.slot === p.slot)
      if (i >= 0) return i + 1
    }
    return undefined
  }

  const http: Server = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ lastTipUpdate: new Date().toISOString(), networkSynchronization: 1, lastKnownTip: tipOf(chain.at(-1)), connectionStatus: "connected", version: "v6.14.0 (test)" }))
    } else {
      res.writeHead(404).end()
    }
  })
  const wss = new WebSocketServer({ server: http, maxPayload: 128 * 1024 * 1024 })
  wss.on("connection", (ws) => {
    stats.connections++
    const s: Session = { ws, cursor: 0, rollbackTo: 0, waiting: 0, maxOutstanding: 0, replies: 0, dropAfter: dropAfterNext.shift(), queue: Promise.resolve() }
    sessions.add(s)
    ws.on("close", () => sessions.delete(s))
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { method?: string; params?: { points?: Array<Point> }; id?: unknown }
      stats.received.push(msg)
      if (msg.method === "nextBlock") {
        stats.nextBlockRequests++
        s.waiting++
        s.maxOutstanding = Math.max(s.maxOutstanding, s.waiting)
        stats.maxOutstanding = Math.max(stats.maxOutstanding, s.waiting)
        serve(s)
      } else if (msg.method === "findIntersection") {
        stats.findIntersections++
        const custom = queries.get("findIntersection")?.(msg.params)
        if (custom !== undefined && custom !== "ignore") return send(s, msg.method, custom, msg.id)
        if (custom === "ignore") return
        if (s.waiting > 0) {
          return send(s, msg.method, { error: { code: 1001, message: "Cannot interleave 'findIntersection' requests with 'nextBlock'." } }, msg.id)
        }
        const at = findIntersection(msg.params?.points ?? [])
        if (at === undefined) {
          return send(s, msg.method, { error: { code: 1000, message: "No intersection found.", data: { tip: tipOf(chain.at(-1)) } } }, msg.id)
        }
        s.cursor = at
        s.rollbackTo = at
        send(s, msg.method, { result: { intersection: at === 0 ? "origin" : pointOf(chain[at - 1]!), tip: tipOf(chain.at(-1)) } }, msg.id)
      } else {
        const handler = msg.method === undefined ? undefined : queries.get(msg.method)
        if (handler === undefined) {
          return send(s, undefined, { error: { code: -32600, message: "Invalid request: unknown method in 'method' (beware names are case-sensitive)." } }, msg.id)
        }
        const reply = handler(msg.params)
        if (reply !== "ignore") send(s, msg.method, reply, msg.id)
      }
    })
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const port = (http.address() as AddressInfo).port

  forge(options.blocks ?? 0)

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    stats,
    get chain(): ReadonlyArray<TestBlock> {
      return chain
    },
    get sessions(): ReadonlyArray<Session> {
      return [...sessions]
    },
    forge,
    fork,
    /** the next connections drop after these many replies each */
    dropConnectionsAfter: (...counts: Array<number>) => {
      dropAfterNext = counts
    },
    /** drops every open connection now (no close frame) */
    dropAll: () => {
      for (const s of sessions) s.ws.terminate()
    },
    closeAll: (code: number, reason: string) => {
      for (const s of sessions) s.ws.close(code, reason)
    },
    sendRaw: (text: string) => {
      for (const s of sessions) s.ws.send(text)
    },
    setReplyDelay: (ms: number) => {
      replyDelay = ms
    },
    onQuery: (method: string, handler: QueryHandler) => {
      queries.set(method, handler)
    },
    stop: async () => {
      for (const s of sessions) s.ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  }
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>
