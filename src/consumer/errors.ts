import { Schema } from "effect"

/**
 * The consumer cannot continue without losing or repeating part of the chain:
 * - `SeamMismatch`: the relay cursor says it continues another history prefix, or the history has
 *   published epochs but the relay was not started by `sync` (no seam to join them at);
 * - `Gap`: the group missed entries (it registered after the relay trimmed them: it is removed from
 *   `events`/`final` again, so it does not hold back the relay; or an entry was trimmed while this
 *   consumer held it pending);
 * - `Malformed`: an entry without the fields of the contract;
 * - `Redis`: a Redis command failed (the connection's own retries gave up);
 * - `WrongPrefix`: a prefix holds the other producer's keys (history and relay prefixes swapped,
 *   or pointing at the wrong namespace): reading on would wait forever and write the group's
 *   keys into that producer's namespace;
 * - `LateGroup`: a group new to a history whose first epochs were already read by the other
 *   groups and cleaned up would start mid-chain (allowed only with `fromAvailable`);
 * - `GroupLost`: the group vanished from a stream it was reading (destroyed, or lost with a Redis
 *   restart), or `events`/`final` were deleted: where it had read to is unknown.
 */
export class ConsumerError extends Schema.TaggedError<ConsumerError>()("ConsumerError", {
  reason: Schema.Literals(["SeamMismatch", "Gap", "Malformed", "Redis", "WrongPrefix", "LateGroup", "GroupLost"]),
  detail: Schema.String
}) {
  /**
   * A condition the user meets (one line, never a stack trace): 2 for a setting to correct
   * (prefixes, or a late group's explicit choice), 1 for the rest.
   */
  get exitCode(): number {
    return this.reason === "WrongPrefix" || this.reason === "LateGroup" ? 2 : 1
  }
  override get message(): string {
    return `consumer: ${this.reason}: ${this.detail}`
  }
}
