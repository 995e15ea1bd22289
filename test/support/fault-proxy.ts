/**
 * A WebSocket proxy between Hecate and an Ogmios (normally the simulator on an ephemeral port)
 * that injects one kind of fault at a chosen server→client frame, so tests can check what the
 * client does with it. Client→server frames pass through untouched.
 *
 *   const proxy = await startFaultProxy(sim.url)            // proxy.url replaces sim.url
 *   proxy.arm({ kind: "closeMidFrame", at: { height: 120 }, repeat: "always" })
 *   … run the CLI against proxy.url …
 *   proxy.fired                                             // how many times a fault fired
 *   proxy.clear(); await proxy.close()
 *
 * Triggers (`at`), counted per connection, 1-based:
 *   { frame: n }              the n-th frame the server sends on the connection
 *   { method: "nextBlock", nth: n }   the n-th response to that method on the connection
 *   { height: h }             the nextBlock forward carrying the block of height h
 *   { afterMs: t }            the first frame the server sends t ms or more after the connection opened
 * `repeat: "once"` (default) fires on the first connection where the trigger matches, then disarms;
 * `"always"` fires on every connection where it matches (a fault that repeats at the same point).
 *
 * Kinds, applied to the frame at the trigger:
 *   corrupt        the frame's text is made invalid JSON
 *   truncate       a complete WebSocket frame holding the first half of the text
 *   oversize       a frame header announcing `oversizeBytes` (default 140 MB, over the client's
 *                  128 MiB limit) and a little of it: the client rejects it from the header alone,
 *                  so nothing near 128 MiB is ever sent
 *   delay          this frame and every later one arrive `delayMs` (default 1000) late, in order
 *   stall          this frame and every later one are dropped; the socket stays open and answers pings
 *   closeMidFrame  a frame header with the true length, half the payload, then the TCP connection ends
 *   changeId       the frame's `id` is replaced (null ↔ a number nobody asked for)
 *   invalidUtf8    a complete text frame with two bytes that are not UTF-8 inside its first string
 *   jumpHeight     a forward's block height +1 (ancestor hash untouched): not parent height + 1
 *   breakParent    a forward's block ancestor replaced by a hash that is no block's
 *   rollbackUnknown  a forward replaced by a backward to a point that is not on the chain
 * Frame kinds that need a nextBlock forward (jumpHeight, breakParent, rollbackUnknown) wait for the
 * first forward at or after the trigger.
 */
import type { Socket } from "node:net"
import { WebSocket, WebSocketServer, type RawData } from "ws"
import { parse, stringify } from "../../src/json/lossless.js"

export type FaultKind =
  | "corrupt"
  | "truncate"
  | "oversize"
  | "delay"
  | "stall"
  | "closeMidFrame"
  | "changeId"
  | "invalidUtf8"
  | "jumpHeight"
  | "breakParent"
  | "rollbackUnknown"

export const FAULT_KINDS: ReadonlyArray<FaultKind> = [
  "corrupt", "truncate", "oversize", "delay", "stall", "closeMidFrame", "changeId", "invalidUtf8", "jumpHeight", "breakParent", "rollbackUnknown"
]

export type FaultTrigger =
  | { readonly frame: number }
  | { readonly method: string; readonly nth: number }
  | { readonly height: number }
  | { readonly afterMs: number }

export interface Fault {
  readonly kind: FaultKind
  readonly at: FaultTrigger
  /** "once" (default): the first connection that reaches the trigger; "always": every connection */
  readonly repeat?: "once" | "always"
  /** delay: ms (default 1000) */
  readonly delayMs?: number
  /** oversize: the announced payload length, bytes (default 140 000 000) */
  readonly oversizeBytes?: number
}

export interface FaultProxy {
  readonly url: string
  readonly port: number
  /** Arms a fault (replacing the one armed before); applies to open and new connections. */
  arm(fault: Fault): void
  /** Disarms; connections already stalled or delayed stay so. */
  clear(): void
  /** Times the armed faults fired, in total. */
  readonly fired: number
  /** Client connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

const NEEDS_FORWARD: ReadonlySet<FaultKind> = new Set(["jumpHeight", "breakParent", "rollbackUnknown"])
const NO_SUCH_BLOCK = "0badc0de".repeat(8)

type Json = Record<string, unknown>
const isObj = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A server→client (unmasked) text frame header for a payload of `length` bytes. */
const frameHeader = (length: number): Buffer => {
  if (length < 126) return Buffer.from([0x81, length])
  if (length < 65536) {
    const b = Buffer.alloc(4)
    b[0] = 0x81
    b[1] = 126
    b.writeUInt16BE(length, 2)
    return b
  }
  const b = Buffer.alloc(10)
  b[0] = 0x81
  b[1] = 127
  b.writeBigUInt64BE(BigInt(length), 2)
  return b
}

// The raw TCP socket under a ws WebSocket: writing on it directly is how a proxy sends frames that
// ws itself would never produce (a lying length, a frame cut by the connection's end).
const rawSocket = (ws: WebSocket): Socket => (ws as unknown as { _socket: Socket })._socket

export const startFaultProxy = async (target: string, initial?: Fault): Promise<FaultProxy> => {
  let armed: Fault | undefined = initial
  let fired = 0
  let connections = 0
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", maxPayload: 256 * 1024 * 1024, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()))
  const port = (wss.address() as { port: number }).port

  wss.on("connection", (client) => {
    connections++
    const opened = performance.now()
    const upstream = new WebSocket(target, { maxPayload: 256 * 1024 * 1024, perMessageDeflate: false })
    const early: Array<RawData> = []
    let frames = 0
    const perMethod = new Map<string, number>()
    let pending = false // the trigger matched; waiting for a forward to apply a block fault to
    let stalled = false
    let delayMs = 0
    let chain: Promise<void> = Promise.resolve()
    let dead = false

    const kill = () => {
      dead = true
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate()
      if (client.readyState === WebSocket.OPEN) client.terminate()
    }
    client.on("close", () => {
      dead = true
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.close()
    })
    client.on("error", () => kill())
    upstream.on("error", () => kill())
    upstream.on("close", (code, reason) => {
      if (dead) return
      dead = true
      // pass the server's close on (1005/1006 cannot be sent: use a generic going-away)
      if (client.readyState === WebSocket.OPEN) client.close(code === 1005 || code === 1006 ? 1001 : code, reason)
    })
    client.on("message", (data) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data.toString())
      else early.push(data)
    })
    upstream.on("open", () => {
      for (const data of early.splice(0)) upstream.send(data.toString())
    })

    /** Sends in order, each frame `delayMs` (the delay in force when it arrived) after its arrival. */
    const send = (write: () => void) => {
      const due = performance.now() + delayMs
      chain = chain.then(() => new Promise<void>((resolve) => {
        const go = () => {
          if (!dead && client.readyState === WebSocket.OPEN) write()
          resolve()
        }
        const wait = due - performance.now()
        if (wait > 0) setTimeout(go, wait)
        else go()
      }))
    }

    const matches = (trigger: FaultTrigger, method: string | undefined, height: number | undefined): boolean => {
      if ("frame" in trigger) return frames === trigger.frame
      if ("method" in trigger) return method === trigger.method && perMethod.get(method) === trigger.nth
      if ("height" in trigger) return height === trigger.height
      return performance.now() - opened >= trigger.afterMs
    }

    upstream.on("message", (data) => {
      if (dead) return
      const text = data.toString()
      frames++
      let value: unknown
      try {
        value = parse(text)
      } catch {
        value = undefined
      }
      const method = isObj(value) && typeof value["method"] === "string" ? value["method"] : undefined
      if (method !== undefined) perMethod.set(method, (perMethod.get(method) ?? 0) + 1)
      const result = isObj(value) && isObj(value["result"]) ? value["result"] : undefined
      const block = result?.["direction"] === "forward" && isObj(result["block"]) ? result["block"] : undefined
      const height = block !== undefined && typeof block["height"] === "number" ? block["height"] : undefined

      if (stalled) return
      const fault = armed
      let apply = false
      if (fault !== undefined && (pending || matches(fault.at, method, height))) {
        if (NEEDS_FORWARD.has(fault.kind) && block === undefined) pending = true
        else {
          apply = true
          pending = false
          fired++
          if ((fault.repeat ?? "once") === "once") armed = undefined
        }
      }
      if (!apply || fault === undefined) return send(() => client.send(text))

      switch (fault.kind) {
        case "corrupt":
          return send(() => client.send(`#not json# ${text.slice(1)}`))
        case "invalidUtf8": {
          const at = text.indexOf('"', 1) + 1 // just inside the first key
          return send(() => client.send(Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff, 0xfe]), Buffer.from(text.slice(at))]), { binary: false }))
        }
        case "truncate":
          return send(() => client.send(text.slice(0, Math.floor(text.length / 2))))
        case "oversize": {
          const announced = fault.oversizeBytes ?? 140_000_000
          stalled = true // the client gives up on the connection at the header
          return send(() => rawSocket(client).write(Buffer.concat([frameHeader(announced), Buffer.from(text)])))
        }
        case "delay":
          delayMs = fault.delayMs ?? 1000
          return send(() => client.send(text))
        case "stall":
          stalled = true
          return
        case "closeMidFrame": {
          stalled = true
          const payload = Buffer.from(text)
          return send(() => {
            const socket = rawSocket(client)
            // end (FIN) rather than destroy: a destroy with the client's requests still unread sends an
            // RST, and the client may then lose frames it was sent before (or this half frame)
            socket.end(Buffer.concat([frameHeader(payload.length), payload.subarray(0, Math.floor(payload.length / 2))]))
            dead = true // nothing more goes to the client, not even a close frame
            upstream.terminate()
            setTimeout(() => socket.destroy(), 2000).unref()
          })
        }
        case "changeId": {
          const frame = value as Json
          frame["id"] = typeof frame["id"] === "number" ? frame["id"] + 1_000_000 : 1_000_000
          return send(() => client.send(stringify(frame)))
        }
        case "jumpHeight":
          block!["height"] = height! + 1
          return send(() => client.send(stringify(value)))
        case "breakParent":
          block!["ancestor"] = NO_SUCH_BLOCK
          return send(() => client.send(stringify(value)))
        case "rollbackUnknown": {
          const slot = block!["slot"]
          result!["direction"] = "backward"
          delete result!["block"]
          result!["point"] = { slot: typeof slot === "number" ? slot : 0, id: NO_SUCH_BLOCK }
          return send(() => client.send(stringify(value)))
        }
      }
    })
  })

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    arm: (fault) => {
      armed = fault
    },
    clear: () => {
      armed = undefined
    },
    get fired() {
      return fired
    },
    get connections() {
      return connections
    },
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}
