/** A bare WebSocket JSON-RPC client for protocol tests: send anything, await frames in order. */
import { WebSocket } from "ws"

export interface RawClient {
  readonly ws: WebSocket
  send(message: unknown): void
  sendText(text: string): void
  /** next frame as text (rejects after timeoutMs) */
  nextText(timeoutMs?: number): Promise<string>
  /** next frame parsed with JSON.parse */
  next(timeoutMs?: number): Promise<any>
  /** resolves true if no frame arrives within ms */
  silentFor(ms: number): Promise<boolean>
  readonly closed: Promise<number>
  close(): void
}

export const connect = (url: string): Promise<RawClient> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 })
    const inbox: Array<string> = []
    const waiters: Array<(text: string) => void> = []
    let closeCode: (code: number) => void = () => {}
    const closed = new Promise<number>((r) => (closeCode = r))
    ws.on("message", (data) => {
      const text = data.toString()
      const waiter = waiters.shift()
      if (waiter) waiter(text)
      else inbox.push(text)
    })
    ws.on("close", (code) => closeCode(code))
    ws.on("error", reject)
    ws.on("open", () => {
      const nextText = (timeoutMs = 10_000) =>
        new Promise<string>((res, rej) => {
          const queued = inbox.shift()
          if (queued !== undefined) return res(queued)
          const timer = setTimeout(() => {
            const i = waiters.indexOf(waiter)
            if (i >= 0) waiters.splice(i, 1)
            rej(new Error(`no frame within ${timeoutMs} ms`))
          }, timeoutMs)
          const waiter = (text: string) => {
            clearTimeout(timer)
            res(text)
          }
          waiters.push(waiter)
        })
      resolve({
        ws,
        send: (message) => ws.send(JSON.stringify(message)),
        sendText: (text) => ws.send(text),
        nextText,
        next: async (timeoutMs) => JSON.parse(await nextText(timeoutMs)),
        silentFor: (ms) =>
          new Promise<boolean>((res) => {
            if (inbox.length > 0) return res(false)
            const waiter = (text: string) => {
              clearTimeout(timer)
              inbox.unshift(text)
              res(false)
            }
            const timer = setTimeout(() => {
              const i = waiters.indexOf(waiter)
              if (i >= 0) waiters.splice(i, 1)
              res(true)
            }, ms)
            waiters.push(waiter)
          }),
        closed,
        close: () => ws.close()
      })
    })
  })

export const nextBlock = { jsonrpc: "2.0", method: "nextBlock" } as const
export const findIntersection = (points: ReadonlyArray<unknown>, id: unknown = "fi") => ({ jsonrpc: "2.0", method: "findIntersection", params: { points }, id })
