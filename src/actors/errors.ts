import { Schema } from "effect"

/** `tell` / `ask` on an actor that has terminated (stopped, its scope closed, or escalated). */
export class ActorStopped extends Schema.TaggedError<ActorStopped>()("ActorStopped", {
  actor: Schema.String
}) {
  override get message(): string {
    return `actor ${this.actor} is stopped`
  }
}

/**
 * The behaviour failed (typed failure, defect or throw) while handling the message an `ask` sent;
 * the actor itself was restarted (or escalated) per its supervision.
 */
export class ActorCrashed extends Schema.TaggedError<ActorCrashed>()("ActorCrashed", {
  actor: Schema.String,
  /** `Cause.pretty` of the failure */
  reason: Schema.String
}) {
  override get message(): string {
    return `actor ${this.actor} crashed while handling the request: ${this.reason}`
  }
}

/** What an `ask` can fail with. */
export type AskError = ActorStopped | ActorCrashed

/**
 * An actor exhausted its restart policy (more than `maxRestarts` consecutive crashes, or the
 * restart Schedule ended) and hands the failure to its parent.
 */
export class ActorEscalated extends Schema.TaggedError<ActorEscalated>()("ActorEscalated", {
  actor: Schema.String,
  /** restarts performed over the actor's lifetime before escalating */
  restarts: Schema.Number,
  /** `Cause.pretty` of the last failure */
  reason: Schema.String,
  /** the last failure's `Cause` */
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `actor ${this.actor} escalated after ${this.restarts} restart(s): ${this.reason}`
  }
}

/** A supervisor exhausted its own restart policy for its children and failed itself. */
export class SupervisorEscalated extends Schema.TaggedError<SupervisorEscalated>()("SupervisorEscalated", {
  supervisor: Schema.String,
  /** the key of the child whose escalation broke the limit, as a string */
  child: Schema.String,
  /** child restarts performed by the supervisor before giving up */
  restarts: Schema.Number,
  cause: ActorEscalated
}) {
  override get message(): string {
    return `supervisor ${this.supervisor} gave up after ${this.restarts} child restart(s); last: ${this.cause.message}`
  }
}
