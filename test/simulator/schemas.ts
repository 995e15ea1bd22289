/**
 * Ajv (draft-07) validators for the official Ogmios schemas, v6.14 and v7.0, with the two known
 * schema bugs patched in memory (the files stay untouched):
 * - cardano.json#/definitions/Value.propertyNames rejects the required `ada` key;
 * - ogmios.json#/properties/RpcError.error requires a "string" key that additionalProperties forbids;
 * - ogmios.json#/definitions/ProjectedRewards keys its inner maps by "^[0-9a-f]+$" though Ogmios
 *   writes bech32 pool ids there (`pool1…`, as in the server's own QueryLedgerStateProjectedRewards
 *   test vectors, which fail the unpatched schema).
 */
import { Ajv, type ValidateFunction } from "ajv"
import { readFileSync } from "node:fs"

const FIXTURES = "/work/shared/fixtures/ogmios"

export type SchemaVersion = "v6.14" | "v7.0"

const load = (file: string) => JSON.parse(readFileSync(`${FIXTURES}/${file}`, "utf8"))

const build = (version: SchemaVersion) => {
  const cardano = load(version === "v6.14" ? "cardano-v6.14.json" : "cardano.json")
  const ogmios = load(version === "v6.14" ? "ogmios-v6.14.json" : "ogmios.json")
  cardano.definitions.Value.propertyNames.pattern = "^(ada|[0-9a-f]{56})$"
  ogmios.properties.RpcError.properties.error.required = ["code", "message"]
  ogmios.definitions.ProjectedRewards.additionalProperties.propertyNames.pattern = "^pool1[0-9a-z]+$"
  // Genesis<Byron> cannot be satisfied: it requires `protocolParameters`, which its
  // additionalProperties forbids, and describes `updatableParameters` (what Ogmios sends) with the
  // Shelley parameter set and delegation keys as 32-byte keys; Byron has its own update parameters
  // and 64-byte (extended) delegate keys.
  const byron = cardano.definitions["Genesis<Byron>"]
  byron.required = byron.required.map((k: string) => (k === "protocolParameters" ? "updatableParameters" : k))
  byron.properties.updatableParameters = { type: "object" }
  byron.properties.genesisDelegations = { type: "object" }
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false, validateSchema: false })
  ajv.addSchema(cardano, "cardano.json")
  ajv.addSchema(ogmios, "ogmios.json")
  const cache = new Map<string, ValidateFunction>()
  return (responseName: string): ValidateFunction => {
    let v = cache.get(responseName)
    if (!v) {
      v = ajv.getSchema(`ogmios.json#/properties/${responseName}`)
      if (!v) throw new Error(`no schema for ${responseName}`)
      cache.set(responseName, v)
    }
    return v
  }
}

const validators = { "v6.14": build("v6.14"), "v7.0": build("v7.0") }

/** Validates a parsed response against `ogmios.json#/properties/<name>` of both versions; returns error text per version. */
export const validateBoth = (name: string, message: unknown): Array<string> => validate(["v6.14", "v7.0"], name, message)

/** The same for the given schema versions only (a response that differs between server versions). */
export const validate = (versions: ReadonlyArray<SchemaVersion>, name: string, message: unknown): Array<string> => {
  const failures: Array<string> = []
  for (const version of versions) {
    const v = validators[version](name)
    if (!v(message)) failures.push(`${version} ${name}: ${JSON.stringify(v.errors?.slice(0, 3))}`)
  }
  return failures
}
