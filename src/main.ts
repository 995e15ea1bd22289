#!/usr/bin/env node
/**
 * `node dist/main.js` (the `hecate` bin): checks the Node version, then loads the command line.
 *
 * Hecate needs Node ≥ 22.19 (Effect 4 and its platform layer use newer built-ins: under Node 20 a
 * run crashes midway with `rawJSON is not a function`). The check runs before any of that code is
 * loaded: static imports are evaluated before a module's body, so this file imports only the check
 * (which imports nothing) and loads the real entry (src/cli/app.ts) dynamically. `npm start -- …` always runs the Node 22 that
 * `npm ci` installs as a devDependency.
 */
import { missingPackageProblem } from "./cli/install-problem.js"
import { nodeVersionProblem } from "./cli/node-version.js"
import { startMemoryLog } from "./cli/memory-log.js"
import { commandRestart } from "./cli/memory-settings.js"
import { invokedCommand } from "./commands/index.js"
import { memoryLogSetting, processEnvironment } from "./config/process-environment.js"

const problem = nodeVersionProblem(process.versions.node, process.execPath, process.argv.slice(2))
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`)
  // 2: a configuration error (docs: exit codes)
  process.exitCode = 2
} else {
  // the batch commands and the relay run with the memory settings they need (src/cli/memory-settings.ts), which only
  // a new process takes: restart in place with them once, before anything else is loaded
  const command = invokedCommand(process.argv.slice(2))
  const execArgv = commandRestart(processEnvironment(), process.execArgv, command)
  if (execArgv !== undefined && typeof process.execve === "function") {
    process.execve(process.execPath, [process.execPath, ...execArgv, ...process.argv.slice(1)], processEnvironment())
  }
  const memory = startMemoryLog(memoryLogSetting())
  memory("start")
  try {
    await import("./cli/app.js")
  } catch (error) {
    const missing = missingPackageProblem(error, process.argv[1] ?? "dist/main.js")
    if (missing === undefined) throw error
    process.stderr.write(`${missing}\n`)
    // 2: a configuration error (docs: exit codes)
    process.exitCode = 2
  }
  memory("loaded")
}
