/**
 * The memory settings of the commands that move epoch batches (backfill, sync, worker), which the
 * process can only be given when it starts.
 *
 * V8's young generation grows to two 16 MiB semi-spaces as soon as a run allocates fast, which a
 * backfill always does (every frame parsed, every block encoded). Blocks die young either way
 * (encoded as they arrive, src/backfill/batch.ts), so 8 MiB semi-spaces collect as well and keep
 * ~16–30 MiB less resident (`--max-semi-space-size`, fixed when the heap is created; measured
 * alternating on the mainnet-shaped run at the same wall time). So the command line restarts
 * itself in place (same pid, same stdio) with it, before loading anything else. A semi-space flag
 * the user gave (to node or in NODE_OPTIONS) is kept as it is; where a restart in place is not
 * available (Windows), nothing changes.
 *
 * (A fixed glibc mmap threshold, `MALLOC_MMAP_THRESHOLD_`, also cut 40–50 MiB at concurrency 4,
 * but made the 60 KB-block runs 20–40 % slower at 1 and 8 MiB: every new mapping costs its page
 * faults. It is not set.)
 */

/** V8's semi-space size (MiB) for the batch commands: the young generation is twice that. */
export const SEMI_SPACE_MB = 8

const BATCH_COMMANDS = new Set(["backfill", "sync", "worker"])

/**
 * The node flags to restart with, or undefined when the process already runs with them (or the
 * command, if known, moves no batches).
 */
export const batchCommandRestart = (
  env: Readonly<Record<string, string | undefined>>,
  execArgv: ReadonlyArray<string>,
  command: string | undefined
): ReadonlyArray<string> | undefined => {
  if (command === undefined || !BATCH_COMMANDS.has(command)) return undefined
  const semiFlag = (a: string) => /^--(max-|min-)?semi-space-size/.test(a)
  if (execArgv.some(semiFlag) || (env["NODE_OPTIONS"] ?? "").split(/\s+/).some(semiFlag)) return undefined
  return [`--max-semi-space-size=${SEMI_SPACE_MB}`, ...execArgv]
}
