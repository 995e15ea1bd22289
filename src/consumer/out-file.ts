/**
 * Opening `--out FILE` for a group (./file-sink.ts), for the run's scope: the file's unacknowledged
 * tail found through Redis, and the check that the file reaches as far as the group acknowledged.
 * A file that lost lines (cut, restored from an older backup, or a new one for a group that has
 * read before) would keep a hole: the group never hands those items out again. Refused (exit 2)
 * unless `acceptGap`. With other consumers in the group each file holds only its consumer's
 * share: not comparable.
 */
import { Effect, type Scope } from "effect"
import type { RedisClient, RedisConnection } from "../services/Redis.js"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import { isAcknowledged, wasHanded } from "./acknowledged.js"
import { ConsumerError, consumerCall } from "./errors.js"
import { type FileSink, OutFileProblem, openFileSink } from "./file-sink.js"
import { groupPosition } from "./group-position.js"

export interface OutFileOptions {
  readonly path: string
  /** continue although the group acknowledged items after the file's last line (leaving that hole in the file) */
  readonly acceptGap: boolean
  readonly history: string | undefined
  readonly relay: string | undefined
  readonly group: string
  readonly consumer: string
}

/** The file sink, open for the current scope, checked against the group's acknowledged position. */
export const openOutFile = (
  redis: RedisConnection,
  client: RedisClient,
  options: OutFileOptions
): Effect.Effect<FileSink, InvalidConfiguration | ConsumerError, Scope.Scope> =>
  Effect.gen(function*() {
    const { path, history, group } = options
    const sink = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => {
          let newestChecked = false
          return openFileSink(path, async (item) => {
            // one file per group: a line whose item this group was never handed is another group's,
            // and appending this group's items after it would write them twice. The file is read
            // newest line first and a group is handed items in order: checking the newest suffices
            if (!newestChecked) {
              newestChecked = true
              if (!(await wasHanded(client, group, item))) throw new OutFileProblem(
                `--out ${path}: its last lines hold items group ${group} was never handed: the file was written for another group — give each group its own file`
              )
            }
            return isAcknowledged(client, { history, group }, item)
          })
        },
        catch: (error) =>
          error instanceof OutFileProblem
            ? new InvalidConfiguration({ variable: "--out", message: error.message })
            : new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
      }),
      (opened) => Effect.promise(() => opened.close().catch(() => undefined))
    )
    yield* checkFileHoldsGroup(redis, options, sink)
    if (sink.cut > 0) yield* Effect.logWarning(`--out ${path}: cut off an incomplete last line (${sink.cut} bytes) left by a run stopped mid-write; its item was not acknowledged and is written again`)
    if (sink.written.size > 0) yield* Effect.logInfo(`--out ${path}: its last ${sink.written.size} lines were written without their acknowledgement reaching Redis; those items are acknowledged now, not written again`)
    return sink
  })

const checkFileHoldsGroup = (redis: RedisConnection, options: OutFileOptions, sink: FileSink) =>
  Effect.gen(function*() {
    const { path, group } = options
    const acked = yield* consumerCall(redis, (client) => groupPosition(client, options))
    const others = [...acked.consumers].filter((c) => c !== options.consumer)
    if (others.length > 0) {
      yield* Effect.logInfo(`--out ${path}: group ${group} has other consumers (${others.join(", ")}): the file holds only this consumer's share, not compared with the group's acknowledged position`)
      return
    }
    if (acked.position === undefined || (sink.lastPosition !== undefined && acked.position <= sink.lastPosition)) return
    const where = sink.lastPosition === undefined ? "is empty" : `ends at position ${sink.lastPosition}`
    const problem = `--out ${path} ${where}, but group ${group} has acknowledged up to position ${acked.position}: ` +
      `the lines in between are missing from the file (truncated, restored from an older backup, or a new file for a group that has read before) and the group will not hand them out again`
    if (options.acceptGap) {
      yield* Effect.logWarning(`${problem}; continuing with that hole (--accept-gap)`)
      return
    }
    return yield* new InvalidConfiguration({
      variable: "--out",
      message: `${problem}. Restore the file that holds them, or start a new file with a new group (--group); --accept-gap continues with the hole`
    })
  })
