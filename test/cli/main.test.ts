import { describe, expect, it } from "vitest"
import { runCli } from "../support/cli.js"

describe("hecate CLI", () => {
  it("prints the command tree with --help and exits 0", async () => {
    const r = await runCli(["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("SUBCOMMANDS")
    expect(r.stdout).toContain("version")
  })

  it("exits 2 on a usage error and names the bad flag", async () => {
    const r = await runCli(["--no-such-flag"])
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).toContain("no-such-flag")
  })
})
