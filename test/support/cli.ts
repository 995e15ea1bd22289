/**
 * Runs the built CLI (`dist/main.js`) as a child process, the way a user does. Tests that use it
 * need `npm run build` first (CI builds before testing).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const mainJs = fileURLToPath(new URL("../../dist/main.js", import.meta.url))

/**
 * Where CLI runs started by tests record their run history (never the user's `hecate:runs:`);
 * test/support/global-setup.ts deletes it after the suite. A test that reads the history sets
 * HECATE_RUNS_PREFIX itself.
 */
export const TEST_RUNS_PREFIX = "hecate-test:runs:"

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  readonly env?: Record<string, string>
  readonly timeoutMs?: number
  /** called once the child is spawned, e.g. to kill it at a chosen moment */
  readonly onSpawn?: (child: ChildProcess) => void
}

export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> => {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` before the tests`)
  return new Promise((resolve, reject) => {
    // process.execPath is the Node 22 that runs vitest (the `node` devDependency)
    const child = spawn(process.execPath, [mainJs, ...args], {
      env: { ...process.env, NO_COLOR: "1", HECATE_RUNS_PREFIX: TEST_RUNS_PREFIX, ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`hecate ${args.join(" ")} did not finish in ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 60_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    options.onSpawn?.(child)
  })
}
