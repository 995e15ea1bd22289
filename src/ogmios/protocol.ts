/**
 * Ogmios v6/v7 JSON-RPC: method names, request envelopes, error codes, and the mapping from an
 * error response to a typed error. Identical across 6.x and 7.0 (spec §4).
 */
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import {
  EraMismatch,
  IntersectionInterleaved,
  IntersectionNotFound,
  OgmiosRpcError,
  QueryUnavailableInCurrentEra
} from "./errors.js"

export const Method = {
  findIntersection: "findIntersection",
  nextBlock: "nextBlock",
  queryNetworkTip: "queryNetwork/tip",
  queryNetworkBlockHeight: "queryNetwork/blockHeight",
  queryNetworkStartTime: "queryNetwork/startTime",
  queryNetworkGenesisConfiguration: "queryNetwork/genesisConfiguration",
  queryLedgerStateEpoch: "queryLedgerState/epoch",
  queryLedgerStateEraSummaries: "queryLedgerState/eraSummaries",
  queryLedgerStateTip: "queryLedgerState/tip"
} as const
export type Method = (typeof Method)[keyof typeof Method]

export const ErrorCode = {
  invalidRequest: -32600,
  internalError: -32603,
  nodeConnectionLost: -32000,
  intersectionNotFound: 1000,
  intersectionInterleaved: 1001,
  acquireFailed: 2000,
  eraMismatch: 2001,
  queryUnavailableInCurrentEra: 2002,
  acquiredExpired: 2003
} as const

/** JSON-RPC ids are any JSON; ours are numbers. `nextBlock` goes without an id (echoed as null). */
export type RpcId = string | number | null | { readonly [k: string]: unknown }

export interface RpcRequest {
  readonly jsonrpc: "2.0"
  readonly method: string
  readonly params?: unknown
  readonly id?: RpcId
}

export interface RpcErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

export const request = (method: string, params?: unknown, id?: RpcId): RpcRequest => ({
  jsonrpc: "2.0",
  method,
  ...(params === undefined ? {} : { params }),
  ...(id === undefined ? {} : { id })
})

/** The one frame sent per credit; pre-serialised because it never changes. */
export const NEXT_BLOCK_FRAME = '{"jsonrpc":"2.0","method":"nextBlock"}'

export const findIntersectionParams = (points: ReadonlyArray<PointOrOrigin>) => ({ points })

export type ProtocolError =
  | IntersectionNotFound
  | IntersectionInterleaved
  | EraMismatch
  | QueryUnavailableInCurrentEra
  | OgmiosRpcError

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isTipOrOrigin = (u: unknown): u is TipOrOrigin =>
  u === "origin" || (isRecord(u) && typeof u["id"] === "string" && (typeof u["slot"] === "number" || typeof u["slot"] === "bigint"))

/** Maps a JSON-RPC error object to the typed error for its code. */
export const fromRpcError = (error: RpcErrorObject, method: string | undefined): ProtocolError => {
  const data = error.data
  switch (error.code) {
    case ErrorCode.intersectionNotFound:
      if (isRecord(data) && isTipOrOrigin(data["tip"])) {
        return new IntersectionNotFound({ message: error.message, tip: data["tip"] })
      }
      break
    case ErrorCode.intersectionInterleaved:
      return new IntersectionInterleaved({ message: error.message })
    case ErrorCode.eraMismatch:
      if (isRecord(data) && typeof data["queryEra"] === "string" && typeof data["ledgerEra"] === "string") {
        return new EraMismatch({ message: error.message, queryEra: data["queryEra"], ledgerEra: data["ledgerEra"] })
      }
      break
    case ErrorCode.queryUnavailableInCurrentEra:
      return new QueryUnavailableInCurrentEra({
        message: `Ogmios cannot answer ${method ?? "the query"} in the node's current era (${error.message}): ` +
          `the node's ledger is still in the Byron era, which has no ledger-state queries. ` +
          `Rerun once the node has synced past Byron (into Shelley or later)`
      })
  }
  return new OgmiosRpcError({
    message: error.message,
    code: error.code,
    ...(method === undefined ? {} : { method }),
    ...(data === undefined ? {} : { data })
  })
}
