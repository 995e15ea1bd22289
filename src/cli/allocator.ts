/**
 * The C allocator's settings for the commands that move epoch batches (backfill, sync, worker).
 *
 * A batch is one buffer of 7–40 MB of block JSON per epoch session, outside V8's heap. glibc's
 * malloc serves blocks that big with mmap and returns them on free, but its threshold for that
 * rises to the size of every mmapped block freed (up to 32 MB): after the first batch, the next
 * ones come from the heap arenas, which keep their pages when freed, and the process's RSS grows
 * by tens of MiB per concurrent session without holding more data. A fixed threshold
 * (`MALLOC_MMAP_THRESHOLD_`, read once when the process starts) keeps big buffers mmapped. Only
 * the environment at start counts, so the command line restarts itself in place (same pid, same
 * stdio) with it set, before loading anything else; a value the user set is kept as it is, and
 * where a restart in place is not available (Windows), nothing changes.
 */

/** Bytes from which glibc's malloc maps blocks of their own (so freeing one returns its pages). */
export const MMAP_THRESHOLD_BYTES = 1 << 20

const BATCH_COMMANDS = new Set(["backfill", "sync", "worker"])

/**
 * The environment to restart with, or undefined when the process already runs with it (or the
 * command moves no batches). `command` is the command the arguments run, if known.
 */
export const allocatorEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
  command: string | undefined
): Record<string, string> | undefined => {
  if (command === undefined || !BATCH_COMMANDS.has(command)) return undefined
  if (env["MALLOC_MMAP_THRESHOLD_"] !== undefined) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  out["MALLOC_MMAP_THRESHOLD_"] = String(MMAP_THRESHOLD_BYTES)
  return out
}
