/**
 * A copy of dist/ without the package's node_modules/ (the bundle holds effect and rxjs, not
 * ioredis, ws or bullmq): every command, --help included, ends in one line that names the missing
 * package and says to run `npm ci`, exit 2, never a module-resolution stack trace.
 */
import { spawnSync } from "node:child_process"
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { missingPackageProblem } from "../../src/cli/install-problem.js"
import { mainJs } from "../support/cli.js"

describe("a copy of dist/ without its dependencies", () => {
  const dir = mkdtempSync(join(tmpdir(), "hecate-test-copy-"))
  cpSync(dirname(mainJs), join(dir, "dist"), { recursive: true })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  for (const args of [["--help"], ["status"], ["backfill", "--simulator"]]) {
    it(`hecate ${args.join(" ")}: exit 2, one line naming the package and npm ci`, () => {
      const r = spawnSync(process.execPath, [join(dir, "dist", "main.js"), ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, NO_COLOR: "1" } })
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(/cannot load the package (ioredis|ws|bullmq|cbor-x|blake2b|@scure\/base): .*Run `npm ci`/)
      expect(r.stderr).not.toMatch(/^\s+at /m)
    })
  }

  it("only a missing package is reported so: any other failure to load stays what it is", () => {
    expect(missingPackageProblem(Object.assign(new Error("Cannot find module '/x/y.js'"), { code: "ERR_MODULE_NOT_FOUND" }), "m")).toBeUndefined()
    expect(missingPackageProblem(new SyntaxError("Unexpected token"), "m")).toBeUndefined()
    expect(missingPackageProblem(Object.assign(new Error("Cannot find package 'ws' imported from /a/b.js"), { code: "ERR_MODULE_NOT_FOUND" }), "/p/dist/main.js"))
      .toContain("cannot load the package ws: its dependencies are not installed beside /p/dist/main.js")
  })
})
