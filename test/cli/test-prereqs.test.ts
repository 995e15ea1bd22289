// scripts/test-prereqs (npm test's pretest, and .ci/run's): its paths, run against stand-ins for
// apt-get, id, sudo, redis-cli and redis-server placed first on PATH, so that nothing is really
// installed or started and the machine's own Redis and Chromium are left alone.
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"

const script = fileURLToPath(new URL("../../scripts/test-prereqs", import.meta.url))
const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Machine {
  readonly root: boolean
  readonly redisRunning: boolean
  readonly chromium: boolean
}

const run = (machine: Machine) => {
  const dir = mkdtempSync(join(tmpdir(), "hecate-prereqs-"))
  dirs.push(dir)
  const bin = join(dir, "bin")
  const log = join(dir, "calls.log")
  const chromium = join(dir, "chromium")
  const redisUp = join(dir, "redis-up")
  if (machine.chromium) writeFileSync(chromium, "")
  if (machine.redisRunning) writeFileSync(redisUp, "")
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  mkdirSync(bin)
  tool("id", `echo ${machine.root ? 0 : 1000}`)
  tool("sudo", "exit 1")
  // "installing" chromium puts the executable where the script looks for it
  tool("apt-get", `case "$*" in *install*chromium*) printf '#!/bin/sh\\n' > '${chromium}'; chmod +x '${chromium}';; esac`)
  tool("redis-cli", `[ -f '${redisUp}' ] && echo PONG || exit 1`)
  tool("redis-server", `touch '${redisUp}'`)
  if (machine.chromium) chmodSync(chromium, 0o755)
  const env: Record<string, string> = { PATH: `${bin}:${process.env["PATH"] ?? ""}`, CHROMIUM_PATH: chromium, TMPDIR: dir }
  const r = spawnSync(script, [], { encoding: "utf8", env })
  return { code: r.status, stderr: r.stderr, calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [] }
}

describe("scripts/test-prereqs", () => {
  it("does nothing when Redis answers and Chromium is there", () => {
    const r = run({ root: true, redisRunning: true, chromium: true })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.calls.filter((c) => /^(apt-get|redis-server)/.test(c))).toEqual([])
  })

  it("starts an in-memory Redis when none answers, and installs Debian's chromium when it is missing", () => {
    const r = run({ root: true, redisRunning: false, chromium: false })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain("no Redis on 127.0.0.1:6379: starting one in memory")
    expect(r.stderr).toContain("installing Debian's chromium")
    const server = r.calls.find((c) => c.startsWith("redis-server"))
    expect(server).toMatch(/--daemonize yes --bind 127\.0\.0\.1 -::1 --port 6379 --save\s+--appendonly no/)
    expect(r.calls).toContain("apt-get update -qq")
    expect(r.calls).toContain("apt-get install -y -qq chromium")
  })

  it("without root or passwordless sudo, says what to install and fails", () => {
    const r = run({ root: false, redisRunning: true, chromium: false })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("cannot install chromium (not root, no passwordless sudo): run 'sudo apt-get install -y chromium' and retry")
    expect(r.calls.filter((c) => c.startsWith("apt-get"))).toEqual([])
  })
})
