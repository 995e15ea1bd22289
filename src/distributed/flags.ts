/**
 * The flags `backfill --distributed` adds, apart from the queue and coordinator code (which loads
 * BullMQ): the backfill command declares them without loading the job queue.
 */
import { Flag } from "effect/cli"

/** The backfill command's extra flags: spread into its flags (`...distributedFlags`). */
export const distributedFlags = {
  distributed: Flag.Boolean("distributed").pipe(
    Flag.withDescription("Queue the epochs as BullMQ jobs for `hecate worker` processes (any number of machines) and commit them in order"),
    Flag.withDefault(false)
  ),
  detach: Flag.Boolean("detach").pipe(
    Flag.withDescription("With --distributed: queue what the backpressure allowance permits and exit; rerun to commit and queue the rest"),
    Flag.withDefault(false)
  ),
  queue: Flag.String("queue").pipe(
    Flag.withDescription("With --distributed: the job queue's name (default hecate-backfill; key prefix HECATE_QUEUE_PREFIX, default bull)"),
    Flag.optional
  )
}
