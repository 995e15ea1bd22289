// The documented exit codes are the code's: the README's list and docs/backfill.md's table name
// exactly the codes of src/cli/exit-codes.ts, and every error class exits with one of them.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { ExitCode } from "../../src/cli/exit-codes.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const read = (path: string) => readFileSync(join(root, path), "utf8")
const table = [...new Set(Object.values(ExitCode))].sort((a, b) => a - b)

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : []
  })

describe("exit codes", () => {
  it("the README's list names exactly the codes of the code's table", () => {
    const readme = read("README.md")
    const paragraph = /^Exit codes: [\s\S]*?(?=\n\n)/m.exec(readme)?.[0]
    expect(paragraph, "README.md has an 'Exit codes:' paragraph").toBeDefined()
    const listed = [...paragraph!.matchAll(/(?:Exit codes:|,)\s+(\d+) [a-z]/g)].map((m) => Number(m[1]))
    expect(listed).toEqual(table)
  })

  it("docs/backfill.md's exit-code table only uses codes of the table", () => {
    const section = /## Exit codes\n([\s\S]*?)\n## /.exec(read("docs/backfill.md"))?.[1] ?? ""
    const codes = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]))
    expect(codes.length).toBeGreaterThan(5)
    for (const code of codes) expect(table).toContain(code)
  })

  it("every error class's exitCode is in the table", () => {
    const used = new Map<number, Array<string>>()
    for (const file of sourceFiles("src")) {
      for (const m of read(file).matchAll(/exitCode\s*=\s*(\d+)/g)) {
        const code = Number(m[1])
        used.set(code, [...(used.get(code) ?? []), file])
      }
    }
    expect(used.size).toBeGreaterThan(5)
    for (const [code, files] of used) expect(table, `exit ${code} in ${files.join(", ")}`).toContain(code)
  })
})
