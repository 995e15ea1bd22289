/** In-process actors: `Actor.spawn` and `Supervisor.make`. See docs/actors.md. */
export * as Actor from "./Actor.js"
export * as Supervisor from "./Supervisor.js"
export { ActorCrashed, ActorEscalated, ActorStopped, type AskError, SupervisorEscalated } from "./errors.js"
export type { ActorOptions, ActorRef, ActorStatus, ActorFailure, Reply, Supervision } from "./Actor.js"
export type { SupervisorOptions, SupervisorStatus, SupervisorStrategy } from "./Supervisor.js"
