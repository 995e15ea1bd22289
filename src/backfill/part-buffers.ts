/**
 * The buffers the epoch sessions encode their batch parts into (src/backfill/batch.ts), shared by
 * every session of the process instead of each session keeping its own.
 *
 * A session's two buffers used to die with the session, and the next epoch's session allocated two
 * new ones. Those are malloc'd outside the V8 heap, and glibc keeps freed blocks of that size in its
 * arenas (it raises its mmap threshold to the size freed) instead of returning them to the system:
 * every epoch boundary left the last session's buffers behind as resident pages, and a run's RSS
 * climbed epoch by epoch, most at concurrency 1, where a run has the most boundaries. With one pool,
 * an epoch's session reuses the buffers the last one handed back when its writes finished: the
 * process allocates only as many buffers as the sessions running at once ever use, whatever the
 * number of epochs.
 */

const idle: Array<Buffer> = []

/** An idle buffer of at least `bytes`, or a new one (never a slice of Node's shared pool, so it can be reused). */
export const takePartBuffer = (bytes: number): Buffer => {
  const i = idle.findIndex((b) => b.length >= bytes)
  if (i < 0) return Buffer.allocUnsafeSlow(bytes)
  const [buffer] = idle.splice(i, 1)
  return buffer!
}

/**
 * Hands back a buffer nobody reads any more (its write has finished). The pool holds at most the
 * buffers that were in use at once, so it needs no bound of its own.
 */
export const returnPartBuffer = (buffer: Buffer): void => {
  // a buffer handed back twice would be handed out twice
  if (!idle.some((b) => b.buffer === buffer.buffer)) idle.push(buffer)
}

/** Bytes held by idle buffers (for the tests and the memory diagnostics). */
export const idlePartBufferBytes = (): number => idle.reduce((n, b) => n + b.length, 0)

/** Drops the idle buffers, once a run has no more sessions to start (the process gives their memory back at its next collection). */
export const releaseIdlePartBuffers = (): void => {
  idle.length = 0
}
