/**
 * The relay's typed errors. Each carries its exit code (`exitCode`, read by src/cli/report.ts)
 * and a message that says what happened and what to do.
 *
 *    1  RelayCursorInvalid   the stored cursor cannot be used with these settings (format, depth, --from)
 *    1  RelayDepthExceeded   the chain rolled back past a block the relay published as final
 *   10  RelayChainBroken     the node kept sending a block (or rollback) that does not fit the chain
 *   15  RelayFenced          another relay process took this prefix over
 *    2  RelayStartNotOnChain a fresh relay's --from slot.hash is not a point of the node's chain
 *   15  RelayPrefixTaken     a fresh relay (--from tip|origin|point) found the prefix owned by a relay cursor
 *
 * `RelayResync` is internal: the stored cursor and this process disagree (e.g. Redis lost its last
 * writes); the relay reloads the cursor and re-intersects, it never reaches the user.
 */
import { Schema } from "effect"

export class RelayFenced extends Schema.TaggedError<RelayFenced>()("RelayFenced", {
  prefix: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 15
  override get message(): string {
    return `another relay took over ${this.prefix} (${this.detail}). Two producers on one prefix are never allowed to ` +
      `interleave: this one stops. Run a single relay per --redis-prefix.`
  }
}

export class RelayStartNotOnChain extends Schema.TaggedError<RelayStartNotOnChain>()("RelayStartNotOnChain", {
  prefix: Schema.String,
  point: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 2
  override get message(): string {
    return `--from ${this.point} is not a point of the node's chain (${this.detail}). Give the slot.hash of a block of ` +
      `this network, or start --from tip or --from origin. Nothing was written to ${this.prefix}.`
  }
}

export class RelayPrefixTaken extends Schema.TaggedError<RelayPrefixTaken>()("RelayPrefixTaken", {
  prefix: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 15
  override get message(): string {
    return `${this.prefix} already belongs to a relay (${this.detail}). Run a single relay per --redis-prefix: resume this ` +
      `one with --from cursor, or use another --redis-prefix.`
  }
}

export class RelayResync extends Schema.TaggedError<RelayResync>()("RelayResync", {
  detail: Schema.String
}) {
  override get message(): string {
    return `the stored relay cursor moved under this process: ${this.detail}`
  }
}

/**
 * Internal: the node no longer has any point of a cursor that has finalised nothing yet (the
 * chain forked below its start point while the relay was down). The relay undoes what it
 * published and starts over at the node's tip; it never reaches the user.
 */
export class RelayStartLost extends Schema.TaggedError<RelayStartLost>()("RelayStartLost", {
  detail: Schema.String
}) {
  override get message(): string {
    return `none of the relay cursor's points is on the node's chain any more, and none of its blocks is final: ${this.detail}`
  }
}

/**
 * The node sent a block that does not extend the relayed chain (wrong parent hash, or a height
 * that is not the parent's + 1), or a rollback to a point that is not on it, again after
 * reconnecting from the stored cursor. Nothing of it was written.
 */
export class RelayChainBroken extends Schema.TaggedError<RelayChainBroken>()("RelayChainBroken", {
  prefix: Schema.String,
  detail: Schema.String,
  attempts: Schema.Number
}) {
  readonly exitCode = 10
  override get message(): string {
    return `the node's chain does not verify under ${this.prefix} — ${this.detail} (${this.attempts} attempts, reconnecting from ` +
      `the stored cursor each time). Nothing of it was written. Check the Ogmios endpoint (is it synced, the right network, ` +
      `a proxy in between?) and rerun: the relay resumes from its cursor.`
  }
}

export class RelayCursorInvalid extends Schema.TaggedError<RelayCursorInvalid>()("RelayCursorInvalid", {
  prefix: Schema.String,
  detail: Schema.String,
  /**
   * The cursor is fine but this run's settings do not fit it (another --format, a --depth smaller
   * than its window): a configuration error, exit 2. Otherwise (its points are not on the node's
   * chain, its keys are inconsistent) exit 1.
   */
  settings: Schema.optional(Schema.Boolean),
  /** none of its points is on the node's chain (the node may only be behind: the relay checks) */
  notOnChain: Schema.optional(Schema.Boolean)
}) {
  get exitCode(): number {
    return this.settings === true ? 2 : 1
  }
  override get message(): string {
    return `relay cursor at ${this.prefix} — ${this.detail}`
  }
}

export class RelayDepthExceeded extends Schema.TaggedError<RelayDepthExceeded>()("RelayDepthExceeded", {
  prefix: Schema.String,
  detail: Schema.String,
  /** how the user of the command sets the depth (its flag, or the variable and config key) */
  setting: Schema.optional(Schema.String)
}) {
  readonly exitCode = 1
  override get message(): string {
    return `the node's chain forked away below a block published as final under ${this.prefix} (${this.detail}), and ` +
      `the node is not behind: its tip is past that block. Either the relay depth is smaller than the network's rollbacks ` +
      `(set it to k, the security parameter and the default: ${this.setting ?? "HECATE_RELAY_DEPTH"}), or ` +
      `this is another network; rebuild this prefix from a point before the fork.`
  }
}
