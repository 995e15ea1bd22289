/**
 * A package the command line needs but cannot find: its dependencies are not installed beside it
 * (a copy of dist/ without node_modules/, an `npm ci` that did not run). The bundle holds effect
 * and rxjs; ioredis, ws, bullmq and the others load from node_modules (rolldown.config.ts), so this
 * is the first thing such a copy meets, before any command runs. Imports nothing: src/main.ts
 * reports it without loading the rest.
 */

/** The one line for a missing package, or undefined when `error` is something else. */
export const missingPackageProblem = (error: unknown, mainPath: string): string | undefined => {
  if (typeof error !== "object" || error === null || (error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") return undefined
  const message = String((error as { message?: unknown }).message)
  const name = /Cannot find package '([^']+)'/.exec(message)?.[1]
  if (name === undefined) return undefined
  return `hecate cannot load the package ${name}: its dependencies are not installed beside ${mainPath}. ` +
    `Run \`npm ci\` in the folder that holds its package.json (dist/ needs the node_modules/ next to it).`
}
