import { Schema } from "effect"

/**
 * The consumer cannot continue without losing or repeating part of the chain:
 * - `SeamMismatch`: the relay cursor says it continues another history prefix, or the history has
 *   published epochs but the relay was not started by `sync` (no seam to join them at);
 * - `Gap`: the group missed entries (it registered after the relay trimmed them, or an entry was
 *   trimmed while this consumer held it pending);
 * - `Malformed`: an entry without the fields of the contract;
 * - `Redis`: a Redis command failed (the connection's own retries gave up).
 */
export class ConsumerError extends Schema.TaggedError<ConsumerError>()("ConsumerError", {
  reason: Schema.Literals(["SeamMismatch", "Gap", "Malformed", "Redis"]),
  detail: Schema.String
}) {
  /** a condition the user meets (one line and exit 1, never a stack trace) */
  readonly exitCode = 1
  override get message(): string {
    return `consumer: ${this.reason}: ${this.detail}`
  }
}
