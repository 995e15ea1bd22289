/**
 * A one-level supervisor of long-running components (the children of `serve`): each runs in a
 * fiber of its own under its declared `RestartPolicy` (`Effect.retry` with the policy's Schedule),
 * all of them in the caller's scope. When one escalates (a failure its policy does not restart, or
 * one more after its schedule ended) the supervisor interrupts the others, waits for their
 * finalizers and fails with that component's error, unchanged, so the command reports it with its
 * own message and exit code. Interrupting the supervisor (SIGTERM) interrupts every component.
 *
 * Components are fibers, not actors: they take no messages, so the actor mailbox (src/actors)
 * would add nothing but a queue nobody writes to.
 */
import { Effect } from "effect"
import { restartSchedule, type RestartPolicy } from "./restart-policy.js"

export interface Component<E, R> {
  /** names its log lines (annotation `component`) and its restarts */
  readonly name: string
  /** runs until interrupted; a failure is a crash, handled per `restart` */
  readonly run: Effect.Effect<unknown, E, R>
  readonly restart: RestartPolicy<E>
  /**
   * Wraps the component's whole supervised life, its restarts included: what lasts across them
   * (a run record in the run history, the run's log), not what each start builds anew.
   */
  readonly lifetime?: (<A>(supervised: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
}

/** Declares a component (infers its error and context types). */
export const component = <E, R>(definition: Component<E, R>): Component<E, R> => definition

/** Any component, whatever its error and context (the supervisor's table is heterogeneous). */
interface AnyComponent {
  readonly name: string
  readonly run: Effect.Effect<unknown, any, any>
  readonly restart: RestartPolicy<any>
  readonly lifetime?: unknown
}
type ErrorOf<C> = C extends { readonly run: Effect.Effect<unknown, infer E, infer _R> } ? E : never
type ContextOf<C> = C extends { readonly run: Effect.Effect<unknown, infer _E, infer R> } ? R : never

/** One component under its policy: started over per its schedule, escalating otherwise. */
export const supervised = <E, R>(child: Component<E, R>): Effect.Effect<unknown, E, R> => {
  const restarted = child.run.pipe(Effect.retry(restartSchedule(child.name, child.restart)))
  return (child.lifetime === undefined ? restarted : child.lifetime(restarted)).pipe(
    // the error itself is reported once, by the command, with its exit code
    Effect.tapError(() => Effect.logError(`${child.name} failed and is not started over: stopping the other components`)),
    Effect.annotateLogs({ component: child.name })
  )
}

/**
 * Runs the components together until interrupted or until one escalates. A component whose `run`
 * returns is done (it is not started again); the others go on.
 */
export const supervise = <const Cs extends ReadonlyArray<AnyComponent>>(
  components: Cs
): Effect.Effect<void, ErrorOf<Cs[number]>, ContextOf<Cs[number]>> =>
  Effect.all(components.map((child) => supervised(child as Component<unknown, unknown>)), { concurrency: "unbounded", discard: true }) as Effect.Effect<
    void,
    ErrorOf<Cs[number]>,
    ContextOf<Cs[number]>
  >
