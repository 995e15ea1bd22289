/**
 * The memory settings of the commands that move epoch batches (backfill, sync, worker), which the
 * process can only be given when it starts.
 *
 * - The C allocator: a batch is one buffer of 7–40 MB of block JSON per epoch session, outside
 *   V8's heap. glibc's malloc serves blocks that big with mmap and returns them on free, but its
 *   threshold for that rises to the size of every mmapped block freed (up to 32 MB): after the
 *   first batch, the next ones come from the heap arenas, which keep their pages when freed, and
 *   RSS grows by tens of MiB per concurrent session without holding more data. A fixed threshold
 *   (`MALLOC_MMAP_THRESHOLD_`, read by glibc at start) keeps the batch buffers mmapped.
 * - V8's young generation: by default it grows to two 16 MiB semi-spaces as soon as a run
 *   allocates fast, which a backfill always does (every frame parsed, every block encoded). Blocks
 *   die young either way (encoded as they arrive, src/backfill/batch.ts), so 8 MiB semi-spaces
 *   collect as well at the same throughput (measured alternating on the mainnet-shaped run) and
 *   keep ~16 MiB less resident (`--max-semi-space-size`, fixed when the heap is created).
 *
 * So the command line restarts itself in place (same pid, same stdio) with both, before loading
 * anything else. A value the user set (in the environment, or a semi-space flag given to node) is
 * kept as it is; where a restart in place is not available (Windows), nothing changes.
 */

/**
 * Bytes from which glibc's malloc maps blocks of their own (so freeing one returns its pages): the
 * batch buffers (7 MB and up) are, the many smaller buffers of a run are not (a new mapping per
 * 1–8 MB buffer costs its page faults each time: at 1 MiB, 60 KB-block runs were ~25 % slower).
 */
export const MMAP_THRESHOLD_BYTES = 8 << 20

/** V8's semi-space size (MiB) for the batch commands: the young generation is twice that. */
export const SEMI_SPACE_MB = 8

const BATCH_COMMANDS = new Set(["backfill", "sync", "worker"])

export interface Restart {
  readonly env: Record<string, string>
  readonly execArgv: ReadonlyArray<string>
}

/**
 * What to restart with, or undefined when the process already runs with it (or the command, if
 * known, moves no batches).
 */
export const batchCommandRestart = (
  env: Readonly<Record<string, string | undefined>>,
  execArgv: ReadonlyArray<string>,
  command: string | undefined
): Restart | undefined => {
  if (command === undefined || !BATCH_COMMANDS.has(command)) return undefined
  const hasThreshold = env["MALLOC_MMAP_THRESHOLD_"] !== undefined
  const semiFlag = (a: string) => /^--(max-|min-)?semi-space-size/.test(a)
  const hasSemi = execArgv.some(semiFlag) || (env["NODE_OPTIONS"] ?? "").split(/\s+/).some(semiFlag)
  if (hasThreshold && hasSemi) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  if (!hasThreshold) out["MALLOC_MMAP_THRESHOLD_"] = String(MMAP_THRESHOLD_BYTES)
  return { env: out, execArgv: hasSemi ? execArgv : [`--max-semi-space-size=${SEMI_SPACE_MB}`, ...execArgv] }
}
