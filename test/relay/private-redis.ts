/**
 * A private redis-server (AOF on, appendfsync always, no RDB) on a free port in a temp dir, which a
 * test can kill (SIGKILL), shut down (SHUTDOWN) and start again on the same port and data.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis as IORedis } from "ioredis"
import { freePort } from "../support/free-port.js"


export interface PrivateRedis {
  readonly port: number
  readonly url: string
  /** a client that reconnects across restarts */
  readonly client: IORedis
  start(): Promise<void>
  /** SIGKILL (nothing is lost: appendfsync always) */
  kill(): Promise<void>
  /** SHUTDOWN (flushes the AOF) */
  shutdown(): Promise<void>
  /** SIGSTOP: an outage in which connections stay open but nothing answers (a frozen host or VM). */
  freeze(): void
  /** SIGCONT: the frozen server answers again; keys whose TTL ran out meanwhile are expired. */
  thaw(): void
  stop(): Promise<void>
  restarts: number
}

const ping = async (port: number, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const probe = new IORedis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on("error", () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch {
      probe.disconnect()
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not come up`)
      await new Promise((r) => setTimeout(r, 30))
    }
  }
}

export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "hecate-redis-"))
  let child: ChildProcess | undefined
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
    })
  const self: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    client: new IORedis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 50, retryStrategy: () => 50 }),
    restarts: 0,
    start: async () => {
      child = spawn("redis-server", [
        "--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always",
        "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", join(dir, "redis.log")
      ], { stdio: "ignore" })
      await ping(port)
    },
    kill: async () => {
      child?.kill("SIGKILL")
      await exited()
    },
    shutdown: async () => {
      const c = new IORedis({ port, host: "127.0.0.1", retryStrategy: () => null })
      c.on("error", () => {})
      await c.call("SHUTDOWN").catch(() => undefined)
      c.disconnect()
      await exited()
    },
    freeze: () => {
      child?.kill("SIGSTOP")
    },
    thaw: () => {
      child?.kill("SIGCONT")
    },
    stop: async () => {
      self.client.disconnect()
      child?.kill("SIGCONT")
      child?.kill("SIGKILL")
      await exited()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  self.client.on("error", () => {})
  await self.start()
  await self.client.connect()
  return self
}
