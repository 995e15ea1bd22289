// How the CLI ends when its surroundings stop it: the reader of its stdout goes away (`| head`),
// its supervisor sends SIGTERM, or the Redis it only used for its run history is not there.
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { mainJs, runCli, TEST_RUNS_PREFIX } from "../support/cli.js"
import { freePort } from "../support/free-port.js"


const env = { ...process.env, NO_COLOR: "1", HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX, HECATE_ENV_FILE: "/dev/null" }

describe("the CLI's end", () => {
  it("exits 0 quietly when the reader of its stdout or stderr closes the pipe (… | head, 2>&1 | head)", async () => {
    for (const closed of ["stdout", "stderr"] as const) {
      const args = [mainJs, "backfill", "--simulator", "--sink", "jsonl", ...(closed === "stderr" ? ["--output", "/dev/null"] : [])]
      const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] })
      const other = closed === "stdout" ? child.stderr : child.stdout
      let otherText = ""
      let lines = 0
      other.on("data", (d) => (otherText += d))
      child[closed].on("data", (d: Buffer) => {
        lines += d.toString().split("\n").length - 1
        // `head -1`: read the first line, then go away
        child[closed].destroy()
      })
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])))
      expect(lines, closed).toBeGreaterThan(0)
      expect({ closed, code, signal }).toEqual({ closed, code: 0, signal: null })
      expect(otherText).not.toMatch(/EPIPE|Unhandled|\n\s+at /)
      if (closed === "stdout") {
        // it stopped early: the whole demo chain (7 epochs) was not relayed to nobody
        expect(otherText).not.toContain("Relayed epochs up to")
      }
    }
  })

  it("relay --sink jsonl | head ends quietly (exit 0, no interruption notice); Ctrl-C on a cli / jsonl sink mentions no cursor", async () => {
    const sim = await startSimulator({ port: 0, seed: "relay-pipe", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10, initialBlocks: 300, meanBlockBytes: 512 })
    try {
      const relayArgs = [mainJs, "relay", "--endpoint", sim.url, "--sink", "jsonl", "--from", "origin", "--no-refresh"]
      const child = spawn(process.execPath, relayArgs, { env, stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (d) => (stderr += d))
      // `head -3`: read a little, then go away
      child.stdout.once("data", () => child.stdout.destroy())
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])))
      expect({ code, signal }, stderr).toEqual({ code: 0, signal: null })
      expect(stderr).not.toMatch(/Interrupted|cursor|EPIPE|\n\s+at /)

      for (const sink of ["jsonl", "cli"] as const) {
        const r = await runCli(["relay", "--endpoint", sim.url, "--sink", sink, "--from", "origin", "--no-refresh"], {
          env: { HECATE_ENV_FILE: "/dev/null" },
          onSpawn: (c) => c.stdout?.once("data", () => setTimeout(() => c.kill("SIGINT"), 200))
        })
        expect(r.code, r.stderr).toBe(130)
        expect(r.stderr).toContain("Interrupted.")
        expect(r.stderr).not.toContain("cursor")
      }
    } finally {
      await sim.stop()
    }
  })

  it("a jsonl / cli run without a Redis says once that its history is off and does not wait for one at the end", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hecate-no-redis-"))
    try {
      const output = join(dir, "blocks.jsonl")
      const noRedis = `redis://127.0.0.1:${await freePort()}/0`
      for (const sink of ["jsonl", "cli"] as const) {
        let relayedAt = 0
        const r = await runCli(["backfill", "--simulator", "--sink", sink, ...(sink === "jsonl" ? ["--output", output] : [])], {
          env: { REDIS_URL: noRedis, HECATE_ENV_FILE: "/dev/null" },
          onSpawn: (c) => c.stderr?.on("data", (d: Buffer) => {
            if (relayedAt === 0 && d.toString().includes("Relayed epochs up to")) relayedAt = performance.now()
          })
        })
        const exitedAfterMs = performance.now() - relayedAt
        expect(r.code, r.stderr).toBe(0)
        expect(r.stderr.match(/run history off: no Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(connect ECONNREFUSED/g)).toHaveLength(1)
        expect(r.stderr).not.toContain("could not be recorded")
        expect(relayedAt).toBeGreaterThan(0)
        // it used to retry the history for 5.5 s here; a loaded machine still exits well within 3 s
        expect(exitedAfterMs).toBeLessThan(3_000)
      }
      expect(readFileSync(output, "utf8").trim().split("\n").length).toBe(693)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a relay waiting for an Ogmios that refuses connections still stops at once on Ctrl-C", async () => {
    let stoppedAt = 0
    const r = await runCli(["relay", "--endpoint", "ws://127.0.0.1:1", "--redis-prefix", `hecate-test:sigint-${process.pid}:`, "--no-refresh"], {
      env: { HECATE_ENV_FILE: "/dev/null" },
      timeoutMs: 30_000,
      onSpawn: (child) => {
        let seen = ""
        child.stderr?.on("data", (d: Buffer) => {
          seen += d.toString()
          if (stoppedAt === 0 && /retry 3\b/.test(seen)) {
            stoppedAt = performance.now()
            child.kill("SIGINT")
          }
        })
      }
    })
    expect(stoppedAt, r.stderr).toBeGreaterThan(0)
    expect(r.code, r.stdout + r.stderr).toBe(130)
    // it was retrying forever: only the interruption ended it, within the time of one retry
    expect(performance.now() - stoppedAt).toBeLessThan(8_000)
  })

  it("under --log-format json, the line a stopped command leaves is a JSON log line too (relay on Ctrl-C, serve on SIGTERM)", async () => {
    for (const [command, signal, notice] of [
      ["relay", "SIGINT", "Interrupted. Rerun to resume from the cursor."],
      ["serve", "SIGTERM", "serve: stopped on SIGTERM"]
    ] as const) {
      const r = await runCli([command, "--endpoint", "ws://127.0.0.1:1", "--redis-prefix", `hecate-test:json-stop-${process.pid}:`, "--no-refresh", "--log-format", "json"], {
        env: { HECATE_ENV_FILE: "/dev/null" },
        timeoutMs: 30_000,
        onSpawn: (child) => {
          let seen = ""
          let sent = false
          child.stderr?.on("data", (d: Buffer) => {
            seen += d.toString()
            if (!sent && /retry 2\b/.test(seen)) sent = child.kill(signal)
          })
        }
      })
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "")
      const messages = lines.map((l) => (JSON.parse(l) as { message: string }).message)
      expect(messages.some((m) => m.includes(notice)), r.stderr).toBe(true)
    }
  }, 60_000)

  it("simulate exits 0 on SIGTERM (a supervisor's stop) and 130 on SIGINT", async () => {
    for (const [signal, expected] of [["SIGTERM", 0], ["SIGINT", 130]] as const) {
      let out = ""
      const r = await runCli(["simulate", "--port", "0", "--block-interval", "0", "--initial-blocks", "50"], {
        onSpawn: (c) => {
          let sent = false
          const onData = (d: Buffer) => {
            out += d
            // once: a second signal during the shutdown would be Node's default action (killed)
            if (!sent && out.includes("simulator listening on")) sent = c.kill(signal)
          }
          c.stdout?.on("data", onData)
          c.stderr?.on("data", onData)
        }
      })
      expect(r.stdout).toContain("simulator listening on ws://127.0.0.1:")
      expect({ signal, code: r.code }).toEqual({ signal, code: expected })
      if (signal === "SIGTERM") expect(r.stderr).toContain("simulate: stopped on SIGTERM")
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })
})
