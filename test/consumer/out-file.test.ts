/**
 * The `--out FILE` start-up (src/consumer/file-sink.ts), property-based on real files: lines
 * of random sizes (many across the 64 KiB read chunks), a random number of them at the end whose
 * items are unacknowledged, and maybe an incomplete last line. The sink must find exactly the
 * unacknowledged tail, cut exactly the incomplete line, and leave every complete line as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { openFileSink, OutFileProblem } from "../../src/consumer/file-sink.js"
import { propertyRuns } from "../../src/config/property-runs.js"

const dir = mkdtempSync(join(tmpdir(), "hecate-out-file-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const line = (i: number, pad: number) =>
  `{"type":"apply","slot":${i},"height":${i},"hash":"h${i}","source":"events","id":"p:events/${i}-0","position":"r:${i}","block":{"pad":"${"x".repeat(pad)}"}}`

describe("--out FILE at start-up", () => {
  it("finds exactly the unacknowledged tail, cuts exactly an incomplete last line", async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 150_000 }), { minLength: 0, maxLength: 8 }),
        fc.nat(),
        fc.option(fc.integer({ min: 1, max: 70_000 }), { nil: undefined }),
        async (pads, tailSeed, partial) => {
          const file = join(dir, `f${n++}.jsonl`)
          const lines = pads.map((p, i) => line(i, p))
          const unacked = lines.length === 0 ? 0 : tailSeed % (lines.length + 1)
          const complete = lines.map((l) => `${l}\n`).join("")
          writeFileSync(file, complete + (partial === undefined ? "" : "y".repeat(partial)))
          const asked: Array<string> = []
          const sink = await openFileSink(file, async (item) => {
            asked.push(item.id)
            return Number(item.id.split("/")[1]!.split("-")[0]) < lines.length - unacked
          })
          await sink.close()
          const expected = lines.slice(lines.length - unacked).map((_, j) => `p:events/${lines.length - unacked + j}-0`)
          expect([...sink.written].sort()).toEqual(expected.sort())
          // read backwards, and no further than the first acknowledged line
          expect(asked.length).toBe(Math.min(lines.length, unacked + 1))
          expect(sink.cut).toBe(partial ?? 0)
          expect(readFileSync(file, "utf8")).toBe(complete)
        }
      ),
      { numRuns: propertyRuns(40) }
    )
  })

  it("a file that is not hecate consume's: exit 2 material (OutFileProblem), the file untouched", async () => {
    const file = join(dir, "other.txt")
    writeFileSync(file, "hello\nworld\n")
    await expect(openFileSink(file, async () => false)).rejects.toBeInstanceOf(OutFileProblem)
    expect(readFileSync(file, "utf8")).toBe("hello\nworld\n")
    await expect(openFileSink(join(dir, "no-such-dir", "x"), async () => false)).rejects.toThrow(/cannot open --out/)
  })
})
