/**
 * The command tree, one module per command, loaded on demand: a run loads only the module of the
 * command it runs (and what that module imports), so `hecate backfill` does not carry the
 * dashboard, the job queue or the simulator in its memory. The whole tree is loaded when the
 * command line names no known command (the top-level help, a typo to report) or asks for shell
 * completions (which describe every command).
 */
const loaders = {
  backfill: () => import("./backfill.js").then((m) => m.backfillCommand),
  status: () => import("./status.js").then((m) => m.statusCommand),
  simulate: () => import("./simulate.js").then((m) => m.simulateCommand),
  refresh: () => import("./refresh.js").then((m) => m.refreshCommand),
  relay: () => import("./relay.js").then((m) => m.relayCommand),
  serve: () => import("./serve.js").then((m) => m.serveCommand),
  sync: () => import("./sync.js").then((m) => m.syncCommand),
  worker: () => import("./worker.js").then((m) => m.workerCommand),
  runs: () => import("./runs.js").then((m) => m.runsCommand),
  consume: () => import("./consume.js").then((m) => m.consumeCommand)
}

export type CommandName = keyof typeof loaders

/** Any one of the commands, with its own flags, errors and requirements. */
export type AnyCommand = { readonly [K in CommandName]: Awaited<ReturnType<(typeof loaders)[K]>> }[CommandName]

/** Every command, in the order the help lists them. */
export const COMMAND_NAMES = Object.keys(loaders) as ReadonlyArray<CommandName>

/** Global flags of the command line that take a value (`--log-level debug`). */
const GLOBAL_FLAGS_WITH_VALUE = new Set(["--log-level", "--completions"])

/**
 * The command an argument list runs (its first word that is not a global flag or a flag's value),
 * or undefined when that word names no command or completions are asked for: then every command
 * is needed.
 */
export const invokedCommand = (args: ReadonlyArray<string>): CommandName | undefined => {
  if (args.some((a) => a === "--completions" || a.startsWith("--completions="))) return undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") return undefined
    if (arg.startsWith("-")) {
      if (GLOBAL_FLAGS_WITH_VALUE.has(arg)) i++
      continue
    }
    return (COMMAND_NAMES as ReadonlyArray<string>).includes(arg) ? (arg as CommandName) : undefined
  }
  return undefined
}

/** The commands a run of `args` needs: the one it names, or all of them. */
export const loadCommands = async (args: ReadonlyArray<string>): Promise<ReadonlyArray<AnyCommand>> => {
  const name = invokedCommand(args)
  return name !== undefined ? [await loaders[name]()] : Promise.all(COMMAND_NAMES.map((n) => loaders[n]()))
}
