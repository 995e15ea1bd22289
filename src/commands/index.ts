/** The command tree, one module per command. */
import { backfillCommand } from "./backfill.js"
import { consumeCommand } from "./consume.js"
import { refreshCommand } from "./refresh.js"
import { relayCommand } from "./relay.js"
import { runsCommand } from "./runs.js"
import { serveCommand } from "./serve.js"
import { simulateCommand } from "./simulate.js"
import { statusCommand } from "./status.js"
import { syncCommand } from "./sync.js"
import { workerCommand } from "./worker.js"

export const commands = [backfillCommand, statusCommand, simulateCommand, refreshCommand, relayCommand, serveCommand, syncCommand, workerCommand, runsCommand, consumeCommand] as const
