// The entry's Node version check: a Node older than package.json's engines gets exit 2 and what to
// run instead, before any of the code that would crash on it is loaded.
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { atLeast, MINIMUM_NODE, nodeVersionProblem } from "../../src/cli/node-version.js"
import { mainJs, TEST_RUNS_PREFIX } from "../support/cli.js"

const run = (node: string, nodeArgs: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
  spawnSync(node, [...nodeArgs, mainJs, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX }
  })

describe("Node version check", () => {
  it("compares versions numerically", () => {
    expect(atLeast("22.19.0")).toBe(true)
    expect(atLeast("v22.23.3")).toBe(true)
    expect(atLeast("24.0.0")).toBe(true)
    expect(atLeast("22.18.9")).toBe(false)
    expect(atLeast("22.9.0")).toBe(false)
    expect(atLeast("20.20.2")).toBe(false)
    expect(nodeVersionProblem(process.versions.node, process.execPath, [])).toBeUndefined()
  })

  it("uses the minimum of package.json's engines.node", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { engines: { node: string } }
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, "")}`)
  })

  it("a Node 20 gets exit 2 and the npm command to run instead, not a crash", () => {
    // process.versions.node set to 20's before the entry runs: the check sees what Node 20 reports
    const r = run(process.execPath, ["--import", "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.20.2'})"], ["backfill", "--simulator", "--sink", "jsonl"])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("hecate needs Node.js 22.19 or newer; this is Node.js 20.20.2")
    expect(r.stderr).toContain("npm start -- backfill --simulator --sink jsonl")
    expect(r.stderr).not.toMatch(/TypeError|\n\s+at /)
  })

  it("the machine's own node (/usr/bin/node) runs the CLI or says what to run instead", () => {
    const node = "/usr/bin/node"
    expect(existsSync(node)).toBe(true)
    const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim()
    const r = run(node, [], ["backfill", "--simulator", "--sink", "jsonl", "--end-epoch", "0"])
    if (atLeast(version)) {
      expect(r.stderr).not.toContain("hecate needs Node.js")
    } else {
      expect(r.status).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain(`this is Node.js ${version.replace(/^v/, "")} (${node})`)
      expect(r.stderr).toContain("npm start -- backfill --simulator --sink jsonl --end-epoch 0")
      expect(r.stderr).not.toMatch(/TypeError|rawJSON|\n\s+at /)
    }
  })
})
