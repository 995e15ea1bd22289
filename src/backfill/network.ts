/**
 * Which network an Ogmios endpoint serves, from its Shelley genesis. The epoch index is keyed by
 * it, so a preprod (or simulator) cache never leaks into mainnet (the Python Hecate kept one
 * cache for every network).
 */
import { Effect } from "effect"
import { Ogmios } from "../services/Ogmios.js"

const KNOWN_MAGICS: Record<number, string> = { 764824073: "mainnet", 1: "preprod", 2: "preview", 4: "sanchonet" }

export const networkIdOf = (networkMagic: number, startTime: string): string =>
  KNOWN_MAGICS[networkMagic] ?? `magic-${networkMagic}-${startTime.replace(/[^0-9TZ]/g, "")}`

export const detectNetwork = Effect.gen(function*() {
  const ogmios = yield* Ogmios
  const genesis = yield* ogmios.queryNetworkGenesisConfiguration("shelley")
  return networkIdOf(genesis.networkMagic, String(genesis.startTime))
})
