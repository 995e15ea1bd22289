import { Effect, Schema } from "effect"
import type { RedisClient, RedisConnection } from "../services/Redis.js"

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

/**
 * A Redis call through the `Redis` service, failing as the consumer's own error: a ConsumerError
 * the call raised stays as it is, a failed command is `Redis` with the driver's message.
 */
export const consumerCall = <A>(redis: RedisConnection, f: (client: RedisClient) => Promise<A>): Effect.Effect<A, ConsumerError> =>
  redis.use(f).pipe(
    Effect.mapError((error) =>
      error.cause instanceof ConsumerError
        ? error.cause
        : new ConsumerError({ reason: "Redis", detail: error.cause instanceof Error ? error.cause.message : String(error.cause) })
    )
  )
