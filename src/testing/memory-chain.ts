/**
 * An in-memory chain for unit tests of the relay with no Ogmios socket: a chain of test blocks that
 * a test extends and forks, a chain-sync `source` (the relay's `RelaySource`) that follows it with
 * credits as Ogmios does (the first event is the RollBackward to the intersection; a fork under a
 * session's position rolls it back to the common ancestor), and the few Ogmios queries the relay
 * makes (tip, height, era summaries, the security parameter). Together with the in-memory relay
 * store, the whole relay pipeline runs with no Redis and no socket.
 */
import { Effect, Layer } from "effect"
import { Observable } from "rxjs"
import type { Block } from "../domain/block.js"
import { type ChainSyncEvent, RollBackward, RollForward } from "../domain/chain-event.js"
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { IntersectionNotFound } from "../ogmios/errors.js"
import type { RelaySource } from "../relay/source.js"
import { Ogmios } from "../services/Ogmios.js"
import { type ChainSync$ } from "../streams/chainSync.js"
import { testBlock, testTip } from "./blocks.js"

export interface MemoryChainOptions {
  /** blocks on the chain at the start (default 0) */
  readonly length?: number
  /** the security parameter the genesis query answers (default 2160) */
  readonly k?: number
}

interface Session {
  readonly sent: Array<Block>
  credits: number
  intersected: boolean
  scheduled: boolean
  closed: boolean
  readonly pump: () => void
}

export class MemoryChain {
  /** the current chain, oldest first */
  readonly blocks: Array<Block> = []
  /** chain-sync sessions opened so far (one per relay session) */
  sessions = 0
  private branch = 0
  /** the most blocks the chain ever held */
  private highest = 0
  private readonly live = new Set<Session>()
  private readonly k: number

  constructor(options: MemoryChainOptions = {}) {
    this.k = options.k ?? 2160
    this.extend(options.length ?? 0)
  }

  tip(): TipOrOrigin {
    const top = this.blocks.at(-1)
    return top === undefined ? "origin" : testTip(top)
  }

  /** Adds `n` blocks on the current branch; live sessions with credits get them. */
  extend(n = 1): void {
    for (let i = 0; i < n; i++) {
      const parent = this.blocks.at(-1)
      this.blocks.push(testBlock(this.branch, this.blocks.length, parent === undefined ? "genesis" : parent.id))
    }
    this.highest = Math.max(this.highest, this.blocks.length)
    this.wake()
  }

  /**
   * Drops the newest `depth` blocks and adds `length` blocks of a new branch in their place. As on
   * a real chain, a fork never reaches below the immutable tip (k below the highest block there
   * ever was): `depth` is capped there.
   */
  fork(depth: number, length: number): void {
    this.blocks.length = Math.max(0, this.blocks.length - depth, this.highest - this.k)
    this.branch++
    this.extend(length)
  }

  private wake(): void {
    for (const session of this.live) session.pump()
  }

  /** The next event of a session, or undefined while it is at the tip. */
  private next(session: Session): ChainSyncEvent | undefined {
    const sent = session.sent
    // a fork below the session's position: back to the newest block it holds that is still on the chain
    let common = sent.length
    while (common > 0 && this.blocks[common - 1]?.id !== sent[common - 1]!.id) common--
    if (common < sent.length) {
      sent.length = common
      const top = sent.at(-1)
      return RollBackward(top === undefined ? "origin" : { slot: top.slot!, id: top.id }, this.tip())
    }
    const block = this.blocks[sent.length]
    if (block === undefined) return undefined
    sent.push(block)
    return RollForward(block, this.tip())
  }

  /** The relay's chain-sync source over this chain. */
  readonly source: RelaySource = (request) => {
    const sessions = new Set<Session>()
    const events$ = new Observable<ChainSyncEvent>((subscriber) => {
      this.sessions++
      const session: Session = {
        sent: [],
        credits: request.inFlight,
        intersected: false,
        scheduled: false,
        closed: false,
        // events arrive on a later turn, as from a socket, never inside the caller's request()
        pump: () => {
          if (session.scheduled || session.closed) return
          session.scheduled = true
          setImmediate(() => {
            session.scheduled = false
            if (session.closed) return
            if (!session.intersected) {
              session.intersected = true
              const at = this.intersect(request.points)
              if (at === undefined) {
                subscriber.error(new IntersectionNotFound({ message: `none of ${request.points.length} points is on the chain`, tip: this.tip() }))
                return
              }
              session.sent.push(...this.blocks.slice(0, at.length))
              request.onConnected?.({ endpoint: "memory", intersection: at.point, tip: this.tip(), resumed: false })
              subscriber.next(RollBackward(at.point, this.tip()))
            }
            while (session.credits > 0 && !session.closed) {
              const event = this.next(session)
              if (event === undefined) break
              session.credits--
              subscriber.next(event)
            }
          })
        }
      }
      this.live.add(session)
      sessions.add(session)
      session.pump()
      return () => {
        session.closed = true
        this.live.delete(session)
        sessions.delete(session)
      }
    })
    return Object.assign(events$, {
      request: (n = 1) => {
        for (const session of sessions) {
          session.credits += n
          session.pump()
        }
      }
    }) satisfies ChainSync$
  }

  /** The first of `points` on the chain: the point and how many blocks it leaves below the cursor. */
  private intersect(points: ReadonlyArray<PointOrOrigin>): { readonly point: PointOrOrigin; readonly length: number } | undefined {
    for (const point of points) {
      if (point === "origin") return { point, length: 0 }
      const i = this.blocks.findIndex((b) => b.id === point.id)
      if (i >= 0) return { point, length: i + 1 }
    }
    return undefined
  }

  /** The Ogmios queries the relay makes, answered from this chain (anything else is a defect). */
  readonly ogmios = (): Layer.Layer<Ogmios> => {
    const missing = (what: string) => () => Effect.die(new Error(`MemoryChain answers no ${what} query`))
    return Layer.succeed(
      Ogmios,
      Ogmios.of({
        findIntersection: missing("findIntersection"),
        queryNetworkTip: () => Effect.sync(() => this.tip()),
        queryNetworkBlockHeight: () => Effect.sync(() => this.blocks.at(-1)?.height ?? "origin"),
        queryNetworkStartTime: missing("start time"),
        queryNetworkGenesisConfiguration: (() => Effect.succeed({ securityParameter: this.k })) as never,
        queryLedgerStateEpoch: missing("epoch"),
        queryLedgerStateEraSummaries: () => Effect.succeed([]),
        queryLedgerStateTip: () => Effect.sync(() => this.tip()),
        chainSync: missing("chainSync") as never
      })
    )
  }
}
