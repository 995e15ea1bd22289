/**
 * Group and consumer names. Both end up in Redis (XGROUP / XREADGROUP arguments, the history's
 * `consumer_groups` registry, the key `<history>consumer:<group>:progress`) and in item ids
 * (`<stream>/<entry>`), so an empty name, or one with spaces, control characters, `:` or `/`,
 * would make keys and ids ambiguous or unreadable in `XINFO`: such names are refused up front.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/

/** The problem with a group or consumer name, or undefined when it is fine. */
export const nameProblem = (kind: "group" | "consumer", name: string): string | undefined => {
  if (name === "") return `the ${kind} name is empty — give one, e.g. --${kind} ${kind === "group" ? "indexer" : "worker-1"}`
  if (NAME.test(name)) return undefined
  return `the ${kind} name ${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)} is not allowed: ` +
    `use 1 to 128 letters, digits and . _ @ - (starting with a letter or digit), e.g. --${kind} ${kind === "group" ? "indexer" : "worker-1"}`
}
