/**
 * The command line (`node dist/main.js`) as one minified bundle, after `tsc` has built the library.
 *
 * Why: a process holds every module it loads as source text, line-end tables and bytecode. Loaded
 * file by file from `effect`'s dist (its modules carry their documentation), the backfill held
 * ~24 MiB of heap and ~115 MiB of RSS before its first block, most of its 160 MiB peak. Bundled,
 * tree-shaken and without comments, the same run peaks 15–20 MiB lower and starts faster
 * (docs/backfill.md, memory). The library's own entry points (`hecate`, `hecate/testing`, …) stay
 * the plain `tsc` modules: an application bundles those itself.
 *
 * - Commands still load on demand: each dynamic import (a command of src/commands/index.ts, the
 *   simulator of `backfill --simulator`, the HTTP server of `--http-port`) is its own chunk in
 *   dist/chunks/, so `backfill` still loads neither the dashboard, BullMQ nor the simulator
 *   (test/cli/lazy-commands.test.ts).
 * - Only the ESM packages are bundled (effect, @effect/*, rxjs). The others (ioredis, bullmq, ws,
 *   cbor-x, blake2b, …) are CommonJS with optional native parts and load from node_modules as before.
 * - Names are kept (`keepNames`), so errors and logs read as in the sources; source maps are written
 *   beside the chunks (`node --enable-source-maps dist/main.js` maps a stack trace to src/).
 */
import { rmSync } from "node:fs"
import { defineConfig } from "rolldown"

// chunk names carry a content hash: clear the last build's, which nothing imports any more
rmSync("dist/chunks", { recursive: true, force: true })

const BUNDLED = /^(effect|@effect\/[^/]+|rxjs)(\/|$)/

export default defineConfig({
  input: { main: "src/main.ts" },
  platform: "node",
  tsconfig: "tsconfig.json",
  external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !BUNDLED.test(id),
  output: {
    dir: "dist",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
    minify: true,
    keepNames: true,
    sourcemap: true
  }
})
