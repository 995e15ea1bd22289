/**
 * The Node version check of src/main.ts. Imports nothing, so that Node 20 can load it and say
 * what to run instead of crashing later.
 */

/** The oldest Node Hecate runs on; the same as package.json's `engines.node`. */
export const MINIMUM_NODE = "22.19.0"

const parts = (version: string): Array<number> => version.replace(/^v/, "").split(".").map((p) => Number.parseInt(p, 10) || 0)

/** Whether `version` (e.g. "20.20.2" or "v22.23.3") is at least `minimum`. */
export const atLeast = (version: string, minimum: string = MINIMUM_NODE): boolean => {
  const v = parts(version)
  const m = parts(minimum)
  for (let i = 0; i < Math.max(v.length, m.length); i++) {
    const a = v[i] ?? 0
    const b = m[i] ?? 0
    if (a !== b) return a > b
  }
  return true
}

const shellQuote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)

/** The message for a Node that is too old (undefined when it is recent enough). */
export const nodeVersionProblem = (version: string, execPath: string, args: ReadonlyArray<string>): string | undefined => {
  if (atLeast(version)) return undefined
  const rerun = ["npm", "start", "--", ...args.map(shellQuote)].join(" ")
  return [
    `hecate needs Node.js ${MINIMUM_NODE.replace(/\.0$/, "")} or newer; this is Node.js ${version} (${execPath}).`,
    `Run it through npm, which uses the Node 22 that \`npm ci\` installed: ${rerun}`,
    `(or install Node.js ≥ ${MINIMUM_NODE.replace(/\.0$/, "")} and run node dist/main.js with it).`
  ].join("\n")
}
