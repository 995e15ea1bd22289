/**
 * One epoch job, on a worker: the same code path as an attempt of the local backfill —
 * `resetEpochState`, then `syncEpoch` (intersect at the previous epoch's last block, verify height,
 * ancestry, hash, slot and count) writing `appendBatch` entries in the `hecate` wire format —
 * with every write fenced on the job's lock (src/distributed/fenced.ts), and a final check that
 * the stream holds exactly the epoch's block count. Completion is reported as the job's result;
 * the coordinator commits it (the ordered advance through ready_set).
 *
 * A rerun of the job — after a retry, or after another worker died holding it — starts with the
 * reset, so an epoch is never half-published: it only becomes readable when the coordinator's
 * advance passes it, and only an attempt that still held the lock at its end can complete.
 */
import { Effect, type Layer } from "effect"
import type { Block } from "../domain/block.js"
import type { OgmiosError } from "../ogmios/errors.js"
import type { Ogmios } from "../services/Ogmios.js"
import { Redis } from "../services/Redis.js"
import { syncEpoch } from "../backfill/epoch-sync.js"
import { encodeBatch } from "../backfill/store/EpochStore.js"
import { storeKeys } from "../backfill/store/keys.js"
import { EpochVerificationFailed } from "../backfill/errors.js"
import { type JobContext, JobRejected } from "./EpochQueue.js"
import { makeFencedWriter } from "./fenced.js"
import { decodeEpochJob, type EpochJobResult } from "./job.js"

export interface EpochWorkerOptions {
  /** This worker's Ogmios endpoints; attempt k of epoch N starts at endpoint (N + k) mod n. */
  readonly endpoints: ReadonlyArray<string>
  readonly ogmiosLayer: (endpoints: ReadonlyArray<string>) => Layer.Layer<Ogmios, OgmiosError>
  /** The network the endpoints serve: a job planned for another network is rejected. */
  readonly network: string
  /** Recorded in results (`worker`). */
  readonly name: string
}

const rotate = (endpoints: ReadonlyArray<string>, by: number): ReadonlyArray<string> =>
  endpoints.map((_, i) => endpoints[(i + by) % endpoints.length]!)

/** The Effect processor of epoch jobs (give it to `effectWorkerLayer`). */
export const processEpochJob = (options: EpochWorkerOptions) => (job: JobContext) =>
  Effect.gen(function*() {
    const started = performance.now()
    const data = yield* decodeEpochJob(job.data).pipe(
      Effect.mapError((e) => new JobRejected({ detail: `malformed epoch job ${job.id}: ${e.message}` }))
    )
    if (data.network !== options.network) {
      return yield* new JobRejected({
        detail: `job ${job.id} is for network ${data.network}, but this worker's endpoints serve ${options.network}`
      })
    }
    const { epoch, expected } = data
    const attempt = Math.max(1, job.attemptsStarted)
    const endpoints = rotate(options.endpoints, epoch + attempt - 1)
    const result = (blocks: number, alreadyCommitted: boolean): EpochJobResult => ({
      epoch,
      blocks,
      lastHeight: expected.endHeight,
      bytes: 0,
      alreadyCommitted,
      worker: options.name,
      attempt,
      endpoint: endpoints[0]!,
      ms: Math.round(performance.now() - started)
    })

    const redis = yield* Redis
    const keys = storeKeys(data.prefix)
    const writer = makeFencedWriter(redis, keys, { lockKey: job.lockKey, token: job.token })

    if ((yield* writer.reset(epoch)) === "committed") {
      yield* Effect.logInfo(`epoch ${epoch} is already committed: nothing to do`)
      return result(expected.blocks, true)
    }
    yield* Effect.logInfo(`epoch ${epoch}: attempt ${attempt} from ${endpoints[0]}`)
    const synced = yield* syncEpoch(
      { epoch, anchor: data.anchor, expected, batchSize: data.batchSize, inFlight: data.inFlight },
      (blocks: ReadonlyArray<Block>) => writer.append(epoch, encodeBatch(blocks, data.format))
    ).pipe(Effect.provide(options.ogmiosLayer(endpoints)))
    const written = yield* writer.count(epoch)
    if (written !== expected.blocks) {
      return yield* new EpochVerificationFailed({ epoch, check: "stream count", expected: String(expected.blocks), actual: String(written) })
    }
    const out = { ...result(synced.blocks, false), bytes: synced.bytes }
    yield* Effect.logInfo(`epoch ${epoch}: ${synced.blocks} blocks written in ${out.ms} ms`)
    return out
  })
