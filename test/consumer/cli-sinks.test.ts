/**
 * Where `hecate consume` delivers (built CLI, hand-written history of 300 blocks of ~2 KiB):
 * - stdout into a real `| head` pipe: the run ends quietly (exit 0, no stack) and says on stderr
 *   how many items it acknowledged; the next run starts exactly after those (what the reader
 *   never read is gone for the group, and the line says so and how to avoid it);
 * - `--max N`: exactly N items, all acknowledged, exit 0: the next run starts at item N + 1;
 * - `--out FILE`: SIGKILLed at random moments and run again, the file ends holding every block
 *   exactly once, in order (lines written before a lost acknowledgement are not written twice,
 *   an incomplete last line is cut and written again).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, appendFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { cleanup, newPrefix } from "../relay/harness.js"
import { mainJs, runCli, TEST_RUNS_PREFIX } from "../support/cli.js"
import { seededRandom } from "../support/backfill-e2e.js"
import { consumeCli, groupsOf, parseLines, sleep, until, writeHistory } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
let dir: string
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL)
  dir = mkdtempSync(join(tmpdir(), "hecate-consume-sinks-"))
})
afterAll(async () => {
  await cleanup(redis, prefixes)
  redis.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

const env = { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null", HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX, NO_COLOR: "1" }

/** `hecate consume …args | head -n lines` in bash: head's output, consume's stderr and both exit codes. */
const throughHead = (args: ReadonlyArray<string>, lines: number) =>
  new Promise<{ head: string; stderr: string; consumeCode: number; headCode: number }>((resolve, reject) => {
    const quoted = [process.execPath, mainJs, "consume", ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    const errFile = join(dir, `stderr-${Math.random().toString(16).slice(2)}`)
    const child = spawn("bash", ["-c", `${quoted} 2>'${errFile}' | head -n ${lines}; echo "codes \${PIPESTATUS[0]} \${PIPESTATUS[1]}" >&2`], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let head = ""
    let codes = ""
    child.stdout.on("data", (d) => (head += d))
    child.stderr.on("data", (d) => (codes += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`consume | head did not finish: ${codes}`))
    }, 60_000)
    child.on("close", () => {
      clearTimeout(timer)
      const m = /codes (\d+) (\d+)/.exec(codes)
      if (m === null) return reject(new Error(`no exit codes: ${codes}`))
      resolve({ head, stderr: readFileSync(errFile, "utf8"), consumeCode: Number(m[1]), headCode: Number(m[2]) })
    })
  })

const history = (prefix: string, group: string, ...more: Array<string>) =>
  ["--source", "history", "--history-prefix", prefix, "--group", group, "--consumer", "c1", ...more]

describe("hecate consume: where an item counts as delivered", () => {
  it("--help says that on stdout an item counts as delivered once written, and how to avoid losing what a reader skips", async () => {
    const r = await runCli(["consume", "--help"], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("On stdout an item counts as delivered once written")
    expect(r.stdout).toContain("take a sample with --max N, or use --out FILE")
  })

  it("| head: ends quietly, says how many items it acknowledged; --max N takes exactly N, the next run goes on after them", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const hashes = await writeHistory(redis, prefix, 3, 100, 10, 2000)

    const piped = await throughHead(history(prefix, "g"), 5)
    expect(piped.headCode).toBe(0)
    expect(piped.head.trim().split("\n").map((l) => JSON.parse(l).hash)).toEqual(hashes.slice(0, 5))
    expect(piped.consumeCode, piped.stderr).toBe(0)
    expect(piped.stderr).not.toMatch(/^\s+at /m)
    const notice = /the reader closed stdout after (\d+) items were written and acknowledged for group g; .*--max N.*--out FILE/.exec(piped.stderr)
    expect(notice, piped.stderr).not.toBeNull()
    expect(piped.stderr.match(/the reader closed stdout/g)).toHaveLength(1)
    const acknowledged = Number(notice![1])
    // head read 5; the pipe held more, acknowledged and never read (the cost the line states)
    expect(acknowledged).toBeGreaterThanOrEqual(5)
    expect(acknowledged).toBeLessThan(hashes.length)

    // the next run starts exactly after what the first one acknowledged
    const sample = consumeCli(history(prefix, "g", "--max", "5"))
    const r1 = await sample.done
    expect(r1.code, r1.stderr).toBe(0)
    expect(parseLines(r1.stdout).map((l) => l.hash)).toEqual(hashes.slice(acknowledged, acknowledged + 5))
    // --max acknowledged exactly those 5: a new consumer name (no pending entries of c1 to claim
    // for 60 s) and the same name both continue right after them
    const again = consumeCli(history(prefix, "g", "--max", "3"))
    const r2 = await again.done
    expect(r2.code, r2.stderr).toBe(0)
    expect(parseLines(r2.stdout).map((l) => l.hash)).toEqual(hashes.slice(acknowledged + 5, acknowledged + 8))
  }, 90_000)

  it("--out FILE: SIGKILLed at random moments and run again, the file holds every block exactly once, in order", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    // enough items that three kills always land mid-history, also on a fast machine (fdatasync per item)
    const hashes = await writeHistory(redis, prefix, 3, 400, 10, 500)
    const file = join(dir, "out.jsonl")
    const random = seededRandom(29)
    const lines = () => {
      try {
        return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length
      } catch {
        return 0
      }
    }
    for (let kill = 0; kill < 3; kill++) {
      const before = lines()
      const run = consumeCli(history(prefix, "out", "--out", file, "--in-flight", "8"))
      await until("new lines", () => lines() > before + 10, undefined, 60_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n--- stdout\n${run.output()}\n--- stderr\n${run.errors().slice(-3000)}`)
      })
      await sleep(Math.floor(random() * 300))
      run.kill("SIGKILL")
      const killed = await run.done
      expect(killed.signal, `${killed.stdout}\n${killed.stderr}`).toBe("SIGKILL")
      expect(killed.stdout, killed.stderr).toBe("")
    }
    // a run stopped in the middle of a line: the incomplete line is cut off, its item written again
    appendFileSync(file, `{"type":"apply","slot":1,"height":`)
    const left = hashes.length - new Set(parseLines(readFileSync(file, "utf8").split("\n").slice(0, -1).join("\n")).map((l) => l.id)).size
    expect(left, "the killed runs wrote every item: the history is too short for this test").toBeGreaterThan(0)
    const last = consumeCli(history(prefix, "out", "--out", file, "--max", String(left)))
    const r = await last.done
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stderr).toContain("cut off an incomplete last line")
    const written = parseLines(readFileSync(file, "utf8"))
    expect(written.map((l) => l.hash)).toEqual(hashes)
    expect(new Set(written.map((l) => l.id)).size).toBe(hashes.length)
  }, 120_000)

  it("--out FILE another group wrote: refused (exit 2), nothing appended, so no item is in it twice", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const hashes = await writeHistory(redis, prefix, 2, 20, 5)
    const file = join(dir, "other-group.jsonl")
    const first = await consumeCli(history(prefix, "writer", "--out", file, "--max", String(hashes.length))).done
    expect(first.code, first.stderr).toBe(0)
    expect(parseLines(readFileSync(file, "utf8")).map((l) => l.hash)).toEqual(hashes)

    // a second group pointed at the same file would hand out the file's items again
    const second = await consumeCli(history(prefix, "newcomer", "--out", file, "--max", "3")).done
    expect(second.code, second.stderr).toBe(2)
    expect(second.stderr).toContain(`--out ${file}: its last lines hold items group newcomer was never handed: the file was written for another group`)
    const lines = parseLines(readFileSync(file, "utf8"))
    expect(lines.map((l) => l.hash)).toEqual(hashes)
    expect(new Set(lines.map((l) => l.id)).size).toBe(hashes.length)
  }, 60_000)

  it("--out FILE that lost lines the group acknowledged (cut, an older backup, a new file): exit 2 naming both positions; --accept-gap goes on", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const hashes = await writeHistory(redis, prefix, 2, 20, 5)
    const file = join(dir, "gap.jsonl")
    const first = await consumeCli(history(prefix, "gap", "--out", file, "--max", "12")).done
    expect(first.code, first.stderr).toBe(0)
    const full = readFileSync(file, "utf8")
    const lines = parseLines(full)
    expect(lines.map((l) => l.hash)).toEqual(hashes.slice(0, 12))

    // cut back to 5 lines: the group acknowledged 12
    writeFileSync(file, full.split("\n").slice(0, 5).join("\n") + "\n")
    const cut = await consumeCli(history(prefix, "gap", "--out", file, "--max", "1")).done
    expect(cut.code, cut.stderr).toBe(2)
    expect(cut.stdout).toBe("")
    expect(cut.stderr).toContain(`--out ${file} ends at position ${lines[4]!.position}, but group gap has acknowledged up to position h:`)
    expect(cut.stderr).toContain("Restore the file that holds them, or start a new file with a new group")
    expect(cut.stderr).toContain("--accept-gap")
    expect(parseLines(readFileSync(file, "utf8")).length).toBe(5) // nothing written

    // a new, empty file for a group that has read before
    const empty = join(dir, "gap-new.jsonl")
    const fresh = await consumeCli(history(prefix, "gap", "--out", empty, "--max", "1")).done
    expect(fresh.code, fresh.stderr).toBe(2)
    expect(fresh.stderr).toContain(`--out ${empty} is empty, but group gap has acknowledged up to position h:`)

    // the file restored: it goes on after its last line
    writeFileSync(file, full)
    const restored = await consumeCli(history(prefix, "gap", "--out", file, "--max", "2")).done
    expect(restored.code, restored.stderr).toBe(0)
    expect(parseLines(readFileSync(file, "utf8")).map((l) => l.hash)).toEqual(hashes.slice(0, 14))

    // --accept-gap: a warning, then on with the hole
    const accepted = await consumeCli(history(prefix, "gap", "--out", empty, "--max", "1", "--accept-gap")).done
    expect(accepted.code, accepted.stderr).toBe(0)
    expect(accepted.stderr).toContain("continuing with that hole (--accept-gap)")
    expect(parseLines(readFileSync(empty, "utf8")).map((l) => l.hash)).toEqual(hashes.slice(14, 15))
  }, 90_000)

  it("stdout on a full disk (> /dev/full): one line naming ENOSPC, exit 1, nothing acknowledged", async () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const hashes = await writeHistory(redis, prefix, 1, 10, 5)
    const quoted = [process.execPath, mainJs, "consume", ...history(prefix, "full", "--max", "5")].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", `exec ${quoted} > /dev/full`], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (d) => (stderr += d))
      child.on("close", (code) => resolve({ code, stderr }))
    })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/^Consume failed: stdout sink: cannot write \(ENOSPC: no space left on device, write\) — the item was not acknowledged/m)
    expect(r.stderr).not.toMatch(/^\s+at /m)
    const next = await consumeCli(history(prefix, "full", "--max", "1")).done
    expect(next.code, next.stderr).toBe(0)
    expect(parseLines(next.stdout).map((l) => l.hash)).toEqual(hashes.slice(0, 1))
  }, 60_000)

  it("--unregister removes a sample's group from events/final, every epoch stream, the registry and its progress, with one confirmation line", async () => {
    const prefix = newPrefix()
    const relay = newPrefix()
    prefixes.push(prefix, relay)
    await writeHistory(redis, prefix, 2, 10, 4)
    const both = ["--history-prefix", prefix, "--redis-prefix", relay, "--group", "sample", "--consumer", "c1"]
    const help = await runCli(["consume", "--help"], { env })
    expect(help.stdout).toContain("holds back the producers (the relay pauses past --max-lag) until it reads on or is removed with --unregister")
    // a sample stopped inside a batch: pending entries and batch progress left behind
    const sample = await consumeCli([...both, "--max", "6", "--in-flight", "1"]).done
    expect(sample.code, sample.stderr).toBe(0)
    expect(await redis.sismember(`${prefix}consumer_groups`, "sample")).toBe(1)
    expect((await groupsOf(redis, `${relay}events`)).map((g) => g["name"])).toEqual(["sample"])
    expect((await groupsOf(redis, `${prefix}epoch:0`)).map((g) => g["name"])).toEqual(["sample"])
    expect(await redis.exists(`${prefix}consumer:sample:progress`)).toBe(1)
    const r = await consumeCli([...both, "--unregister"]).done
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(`consume: unregistered group sample: removed from 4 streams and from the registry of ${prefix} — it no longer holds back the producers`)
    expect(await redis.sismember(`${prefix}consumer_groups`, "sample")).toBe(0)
    for (const key of [`${relay}events`, `${relay}final`, `${prefix}epoch:0`, `${prefix}epoch:1`]) expect(await groupsOf(redis, key), key).toEqual([])
    expect(await redis.exists(`${prefix}consumer:sample:progress`)).toBe(0)
    const again = await consumeCli([...both, "--unregister"]).done
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(`removed from 0 streams, not in the registry of ${prefix}`)
  }, 60_000)
})
