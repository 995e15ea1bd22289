/**
 * HECATE_PROPERTY_RUNS: how many histories a property test of the testing kit (and of this
 * project, `npm run soak`) runs. Read here, with the other settings, so library code never reads
 * the environment itself; absent or invalid (not a whole number > 0) means `fallback`.
 */
export const propertyRuns = (fallback = 100): number => {
  const raw = typeof process === "undefined" ? undefined : process.env["HECATE_PROPERTY_RUNS"]
  const n = raw === undefined ? Number.NaN : Number(raw)
  return Number.isSafeInteger(n) && n > 0 ? n : fallback
}
