/**
 * `hecate consume --out FILE`: the durable sink. Each line is appended and fdatasync'ed before its
 * item is acknowledged, so an acknowledged item is on disk. Exactly once across restarts of the
 * same group: at start-up the file's tail is read backwards, line by line, until a line whose item
 * is acknowledged in Redis; the lines after it were written but their acknowledgement never
 * reached Redis, so their items come again, and are then acknowledged without being written a
 * second time. An incomplete last line (a run stopped mid-write) is cut off first: its item was
 * not acknowledged either, and is written again in full.
 */
import { open, type FileHandle } from "node:fs/promises"
import type { HandedItem } from "./acknowledged.js"
import { itemOfLine } from "./lines.js"

/** At most this many lines can be unacknowledged at the end of the file (`--in-flight`'s maximum). */
const MAX_TAIL = 10_000
const CHUNK = 64 * 1024

export class OutFileProblem extends Error {}

export interface FileSink {
  /** ids of items the file holds whose acknowledgement did not reach Redis */
  readonly written: Set<string>
  /** bytes of an incomplete last line cut off at start-up (0: none) */
  readonly cut: number
  /** the position of the file's last complete line, undefined for an empty file */
  readonly lastPosition: string | undefined
  /** appends the line and waits until it is on disk */
  append(line: string): Promise<void>
  close(): Promise<void>
}

/** The lines of a file that ends with a newline at `size - 1`, last first, without their newline. */
async function* linesBackwards(fh: FileHandle, size: number): AsyncGenerator<string> {
  if (size === 0) return
  let end = size - 1
  let rest = Buffer.alloc(0) // the start of the file up to `end`, as far as read: the front of a line
  while (end > 0) {
    const start = Math.max(0, end - CHUNK)
    const chunk = Buffer.alloc(end - start)
    await fh.read(chunk, 0, chunk.length, start)
    let data = Buffer.concat([chunk, rest])
    for (let nl = data.lastIndexOf(0x0a); nl >= 0; nl = data.lastIndexOf(0x0a)) {
      yield data.subarray(nl + 1).toString("utf8")
      data = data.subarray(0, nl)
    }
    rest = Buffer.from(data)
    end = start
  }
  yield rest.toString("utf8")
}

export const openFileSink = async (path: string, acknowledged: (item: HandedItem) => Promise<boolean>): Promise<FileSink> => {
  let fh: FileHandle
  try {
    fh = await open(path, "a+")
  } catch (error) {
    throw new OutFileProblem(`cannot open --out ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): give a writable file path`)
  }
  try {
    let size = (await fh.stat()).size
    let cut = 0
    if (size > 0) {
      const last = Buffer.alloc(1)
      await fh.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) {
        // find the last newline; everything after it is an incomplete line
        let end = size
        let keep = 0
        while (end > 0) {
          const start = Math.max(0, end - CHUNK)
          const buffer = Buffer.alloc(end - start)
          await fh.read(buffer, 0, buffer.length, start)
          const nl = buffer.lastIndexOf(0x0a)
          if (nl >= 0) {
            keep = start + nl + 1
            break
          }
          end = start
        }
        cut = size - keep
        await fh.truncate(keep)
        await fh.datasync()
        size = keep
      }
    }
    const written = new Set<string>()
    let lastPosition: string | undefined
    let n = 0
    for await (const line of linesBackwards(fh, size)) {
      const item = itemOfLine(line)
      if (item === undefined) {
        throw new OutFileProblem(
          `--out ${path}: line ${n + 1} from the end is not a line of hecate consume: give a file only hecate consume --out writes (one per group), or a new one`
        )
      }
      lastPosition ??= item.position
      if (await acknowledged(item)) break
      written.add(item.id)
      if (++n > MAX_TAIL) {
        throw new OutFileProblem(
          `--out ${path}: its last ${MAX_TAIL} lines are all unacknowledged for this group, more than a run can leave: ` +
            `it was written for another group — give each group its own file`
        )
      }
    }
    return {
      written,
      cut,
      lastPosition,
      append: async (line) => {
        await fh.write(`${line}\n`)
        await fh.datasync()
      },
      close: () => fh.close()
    }
  } catch (error) {
    await fh.close()
    throw error
  }
}
