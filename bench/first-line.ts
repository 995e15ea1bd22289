/** The first line a child process prints (a bench child reports its figures, or its port, as one JSON line). */
import type { ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"

export const firstLine = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once("line", (line) => {
      rl.close()
      resolve(line)
    })
    child.once("exit", (code) => reject(new Error(`child exited with ${code}`)))
  })
