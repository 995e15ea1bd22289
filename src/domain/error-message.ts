/**
 * The one-line message of anything thrown or failed with: a typed error's (or Error's) `message`,
 * else its string form. What Hecate prints after "failed:" everywhere.
 */
export const errorMessage = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)
