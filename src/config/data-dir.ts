/**
 * Where the package's `data/` folder is (the shipped mainnet CSVs, the default epoch cache): the
 * nearest folder above this module that holds `data/epoch_boundaries.csv`. Walking up, not a
 * fixed `../..`, because this module runs from src/ (tests), dist/ (the library), dist/chunks/
 * (the command line's bundle) and dist-bench/src/ (the benches), under the repository or under
 * node_modules/hecate.
 */
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const MARKER = "epoch_boundaries.csv"

/** The package's data/ folder, or undefined when no folder above this module has one. */
export const findPackageDataDir = (): string | undefined => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, "data")
    if (existsSync(join(candidate, MARKER))) return candidate
    const parent = resolve(dir, "..")
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The package's data/ folder; without one (a copy of the code without its data), the folder
 * beside the package root, so a message about a missing CSV names where it was looked for.
 */
export const packageDataDir = (): string =>
  findPackageDataDir() ?? resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "data")
