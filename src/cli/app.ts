/**
 * The Hecate command line, loaded by src/main.ts once the Node version is known to be enough. Each
 * command lives in src/commands/; this file only assembles the tree and runs it with the platform
 * services and documented exit codes.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { teardown } from "./exit-codes.js"
import { untilOutputCloses } from "./process.js"
import { commands } from "../commands/index.js"

const hecate = Command.make("hecate").pipe(
  Command.withDescription(
    "Relay Cardano blocks from Ogmios into Redis: epoch-parallel backfill, a rollback-aware realtime relay, " +
      "and a forking Ogmios simulator to run them against."
  ),
  Command.withSubcommands(commands)
)

hecate.pipe(
  Command.run({ version: "0.1.0" }),
  untilOutputCloses,
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown, disableErrorReporting: false })
)
