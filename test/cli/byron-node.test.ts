/**
 * A node whose ledger is still in the Byron era (a node syncing from genesis, or a Byron-only
 * devnet) answers no ledger-state query, so the backfill cannot learn the current epoch. The
 * command says so in one line and exits 10 ("rerun later"), writing nothing: no stack trace.
 */
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix } from "../relay/harness.js"
import { type CliResult, runCli } from "../support/cli.js"
import { type SimulatorHandle, startSimulator } from "../../src/simulator/index.js"

const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`

describe("a node still in the Byron era", () => {
  let sim: SimulatorHandle
  const redis = new IORedis(TEST_REDIS_URL)
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, network: "custom", era: "byron", seed: "byron-node", initialBlocks: 40 })
  })
  afterAll(async () => {
    await sim.stop()
    redis.disconnect()
  })

  for (const command of ["backfill", "sync"] as const) {
    it(`${command}: exit 10, one line naming the Byron era and what to do, nothing written`, async () => {
      const prefix = newPrefix()
      const args = command === "backfill"
        ? ["backfill", "--endpoint", sim.url, "--redis-prefix", prefix, "--retries", "0"]
        : ["sync", "--endpoint", sim.url, "--redis-prefix", `${prefix}relay:`]
      const r = await runCli(args, { env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_HISTORY_PREFIX: prefix } })
      expect(r.code, output(r)).toBe(10)
      expect(output(r)).toMatch(/cannot answer queryLedgerState\/epoch .*Byron era.*Rerun once the node has synced past Byron/s)
      expect(output(r)).not.toMatch(/^\s+at /m)
      expect(await redis.keys(`${prefix}*`)).toEqual([])
    })
  }
})
