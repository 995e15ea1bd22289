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

/**
 * V8's semi-space size (MiB) for the tip relay. A scavenge pauses the relay for as long as it takes
 * to copy what is still alive, and with the default young generation (two 16 MiB semi-spaces once
 * it has grown) that was 2-5 ms, once every ~0.5 s at 200 blocks/s, with a 7-10 ms mark-compact
 * every few seconds for what it promoted: the relay's tail. With 1 MiB a scavenge runs every few
 * blocks but pauses for well under a millisecond, and promotes almost nothing (docs/relay.md, tip
 * latency).
 */
export const RELAY_SEMI_SPACE_MB = 1

/** The semi-space size each command restarts with; the others keep V8's default. */
const SEMI_SPACE_BY_COMMAND: Readonly<Record<string, number>> = {
  backfill: SEMI_SPACE_MB,
  sync: SEMI_SPACE_MB,
  worker: SEMI_SPACE_MB,
  relay: RELAY_SEMI_SPACE_MB
}

/**
 * The node flags to restart `command` with, or undefined when the process already runs with them,
 * the user set a semi-space size of their own, or the command (if known) needs none.
 */
export const commandRestart = (
  env: Readonly<Record<string, string | undefined>>,
  execArgv: ReadonlyArray<string>,
  command: string | undefined
): ReadonlyArray<string> | undefined => {
  const mb = command === undefined ? undefined : SEMI_SPACE_BY_COMMAND[command]
  return mb === undefined ? undefined : withSemiSpace(env, execArgv, mb)
}

/** `execArgv` with a semi-space size, or undefined when the process (or the user) set one already. */
const withSemiSpace = (env: Readonly<Record<string, string | undefined>>, execArgv: ReadonlyArray<string>, mb: number) => {
  const semiFlag = (a: string) => /^--(max-|min-)?semi-space-size/.test(a)
  if (execArgv.some(semiFlag) || (env["NODE_OPTIONS"] ?? "").split(/\s+/).some(semiFlag)) return undefined
  return [`--max-semi-space-size=${mb}`, ...execArgv]
}
