// A run whose process died without recording its end (SIGKILL, host down) stops beating: once its
// heartbeat is older than CRASHED_AFTER_MS, `runs` and `runs show` read it back as Crashed.
import { Redis as IORedis } from "ioredis"
import { describe, expect, it } from "vitest"
import { CRASHED_AFTER_MS, type RunRecord } from "../../src/observability/runs.js"
import { runHistoryAt } from "../support/redis-services.js"
import { deleteByPrefix, TEST_REDIS_URL, uniquePrefix } from "../backfill/redis-helpers.js"
import { runCli } from "../support/cli.js"

const record = (id: string, heartbeatAgoMs: number, now: number): RunRecord => ({
  id,
  command: "backfill",
  prefix: undefined,
  parameters: { sink: "redis" },
  state: "Running",
  startedAt: new Date(now - heartbeatAgoMs - 60_000).toISOString(),
  endedAt: undefined,
  heartbeatAt: new Date(now - heartbeatAgoMs).toISOString(),
  blocks: 42,
  error: undefined,
  host: "box",
  pid: 4242
})

describe("crashed runs", () => {
  it("a Running run whose heartbeat expired reads as Crashed, ended at its last heartbeat; a beating one stays Running", async () => {
    const prefix = uniquePrefix()
    const client = new IORedis(TEST_REDIS_URL)
    const history = runHistoryAt(TEST_REDIS_URL, { prefix })
    try {
      const now = Date.now()
      const dead = record("dead-000001", CRASHED_AFTER_MS + 30_000, now)
      const alive = record("alive-000002", 2_000, now)
      await history.save(dead)
      await history.save(alive)

      const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" }
      const listed = await runCli(["runs", "--json", "--runs-prefix", prefix], { env })
      expect(listed.code, listed.stderr).toBe(0)
      const runs = JSON.parse(listed.stdout) as Array<RunRecord & { shownState: string }>
      const byId = new Map(runs.map((r) => [r.id, r]))
      expect(byId.get("dead-000001")).toMatchObject({ state: "Crashed", shownState: "Crashed", endedAt: dead.heartbeatAt, blocks: 42 })
      expect(byId.get("dead-000001")!.error).toContain(`no heartbeat since ${dead.heartbeatAt}`)
      expect(byId.get("alive-000002")).toMatchObject({ state: "Running", shownState: "Running" })
      expect(byId.get("alive-000002")!.endedAt).toBeUndefined()

      const table = await runCli(["runs", "--runs-prefix", prefix], { env })
      expect(table.stdout).toMatch(/dead-000001\s+backfill\s+-\s+Crashed\s/)
      expect(table.stdout).toMatch(/alive-000002\s+backfill\s+-\s+Running\s/)
      const shown = await runCli(["runs", "show", "dead-000001", "--runs-prefix", prefix], { env })
      expect(shown.stdout).toMatch(/^state\s+Crashed$/m)
      expect(shown.stdout).toMatch(new RegExp(`^ended\\s+${dead.heartbeatAt!.replace(/\./g, "\\.")}$`, "m"))

      // the stored record is untouched: a run that comes back (Redis outage) rewrites it as Running
      expect(await client.hget(`${prefix}run:dead-000001`, "state")).toBe("Running")
    } finally {
      await history.close()
      await deleteByPrefix(client, prefix)
      client.disconnect()
    }
  })
})
