/**
 * The memory settings of the commands that move blocks (backfill, sync, worker, relay), which the
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
 * The relay's too. Its blocks are kept as bytes outside the heap (src/domain/block-text.ts), so
 * what a scavenge copies is small whatever the young generation's size; 1 MiB semi-spaces (once
 * chosen for short pauses, when the blocks were strings on the heap) made a catch-up spend 15-20 %
 * more CPU in scavenges and showed no shorter tail at the tip (docs/relay.md, tip latency).
 */
export const RELAY_SEMI_SPACE_MB = SEMI_SPACE_MB

/**
 * How far V8 lets the relay's heap grow past what a mark-compact left alive before it starts the
 * next (`--heap-growing-percent`). The relay's heap is small (~35 MiB), so V8 allowed it only
 * ~25 % (~8 MiB) more, and it counts the buffers the relay allocates per block (frames, block
 * bytes, Redis commands: ~6.5 MiB/s at 200 blocks/s) against that: a 6-10 ms mark-compact every
 * second at the tip, the relay's latency tail. With 100 % one ran every ~4 s at the tip, but a
 * catch-up (~70 MiB/s of frames) still met one every ~700 blocks; 300 % catches up 10-12 % faster
 * than 100 % (and than V8's own choice) for ~40 MiB more peak RSS (docs/relay.md, catch-up and
 * tip latency).
 */
export const RELAY_HEAP_GROWING_PERCENT = 300

/** A node flag a command restarts with, unless the user set that flag (in any spelling) already. */
interface NodeFlag {
  readonly arg: string
  readonly given: RegExp
}

/** Any young generation size: a user who set one tuned the process's memory themselves. */
const SEMI_SPACE_GIVEN = /^--(max-|min-)?semi-space-size/

const semiSpace = (mb: number): NodeFlag => ({ arg: `--max-semi-space-size=${mb}`, given: SEMI_SPACE_GIVEN })
const heapGrowing = (percent: number): NodeFlag => ({ arg: `--heap-growing-percent=${percent}`, given: /^--heap[-_]growing[-_]percent/ })

/** The node flags each command restarts with; the others keep V8's defaults. */
const FLAGS_BY_COMMAND: Readonly<Record<string, ReadonlyArray<NodeFlag>>> = {
  backfill: [semiSpace(SEMI_SPACE_MB)],
  sync: [semiSpace(SEMI_SPACE_MB)],
  worker: [semiSpace(SEMI_SPACE_MB)],
  relay: [semiSpace(RELAY_SEMI_SPACE_MB), heapGrowing(RELAY_HEAP_GROWING_PERCENT)]
}

/**
 * The node flags to restart `command` with, or undefined when the process already runs with them,
 * the user set every one of them (a flag the user set is theirs; a semi-space flag of the user's
 * keeps the process as it is), or the command (if known) needs none.
 */
export const commandRestart = (
  env: Readonly<Record<string, string | undefined>>,
  execArgv: ReadonlyArray<string>,
  command: string | undefined
): ReadonlyArray<string> | undefined => {
  const flags = command === undefined ? undefined : FLAGS_BY_COMMAND[command]
  if (flags === undefined) return undefined
  const given = [...execArgv, ...(env["NODE_OPTIONS"] ?? "").split(/\s+/)]
  // the user's own young generation size means they tuned the process's memory: leave it alone
  if (given.some((a) => SEMI_SPACE_GIVEN.test(a))) return undefined
  const missing = flags.filter((flag) => !given.some((a) => flag.given.test(a)))
  return missing.length === 0 ? undefined : [...missing.map((flag) => flag.arg), ...execArgv]
}
