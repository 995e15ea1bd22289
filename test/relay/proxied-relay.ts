/**
 * The fixture of the relay's Ogmios-fault tests: a simulator of `blocks` blocks behind the fault
 * proxy, a Redis client, and `relayThrough(fault)`, which runs the built CLI (`relay --from origin`
 * through the proxy) on a fresh prefix until it caught up with the simulator (then SIGINT) or,
 * with `untilCaughtUp: false`, until it exits by itself. A relay that exits before catching up
 * fails the wait at once, with its output.
 */
import type { ChildProcess } from "node:child_process"
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { type CliResult, runCli } from "../support/cli.js"
import { type Fault, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js"
import { caughtUp, cleanup, newPrefix } from "./harness.js"

export interface ProxiedRelay {
  readonly client: IORedis
  readonly sim: SimulatorHandle
  readonly proxy: FaultProxy
  relayThrough(
    fault: Fault,
    options?: { readonly untilCaughtUp?: boolean; readonly args?: ReadonlyArray<string>; readonly env?: Record<string, string> }
  ): Promise<{ readonly prefix: string; readonly result: CliResult; readonly fired: number }>
}

/** Registers the fixture's beforeAll / afterAll; its fields are set once beforeAll ran. */
export const proxiedRelay = (seed: string, blocks: number): ProxiedRelay => {
  const prefixes: Array<string> = []
  const self = { relayThrough } as { -readonly [K in keyof ProxiedRelay]: ProxiedRelay[K] }
  beforeAll(async () => {
    self.client = new IORedis(TEST_REDIS_URL)
    self.sim = await startSimulator({ port: 0, seed, securityParameter: 10, initialBlocks: blocks, meanBlockBytes: 512 })
    self.proxy = await startFaultProxy(self.sim.url)
  })
  afterAll(async () => {
    await self.proxy?.close()
    await self.sim?.stop()
    await cleanup(self.client, prefixes)
    self.client.disconnect()
  })
  async function relayThrough(fault: Fault, options: Parameters<ProxiedRelay["relayThrough"]>[1] = {}) {
    const prefix = newPrefix()
    prefixes.push(prefix)
    self.proxy.arm(fault)
    const firedBefore = self.proxy.fired
    let child: ChildProcess | undefined
    const done = runCli(
      ["relay", "--endpoint", self.proxy.url, "--redis-prefix", prefix, "--from", "origin", "--no-refresh", ...(options.args ?? ["--depth", "10", "--in-flight", "8"])],
      { env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", ...options.env }, timeoutMs: 40_000, onSpawn: (c) => (child = c) }
    )
    if (options.untilCaughtUp !== false) {
      const exited = done.then((r) => Promise.reject(new Error(`the relay exited ${r.code} before catching up\n${r.stdout}\n${r.stderr}`)))
      exited.catch(() => {})
      try {
        await Promise.race([caughtUp(self.client, prefix, self.sim, 30_000), exited])
      } finally {
        child?.kill("SIGINT")
      }
    }
    const result = await done
    self.proxy.clear()
    return { prefix, result, fired: self.proxy.fired - firedBefore }
  }
  return self
}
