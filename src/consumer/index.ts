/**
 * `hecate/consumer` (docs/consumer.md): the chain as one sequence from the epoch streams and the
 * relay's `events`/`final`, with consumer groups, acknowledgements after the handler's own
 * commit, reclaim of a dead consumer's entries and resume after restarts; and `printChain`, the
 * program of `hecate consume`: the chain as lines to a writable or a durable file.
 */
export { type Ack, type Apply, type ChainItem, consume$, type ConsumeOptions, consumeStream, type Final, registerGroup, type Undo } from "./consume.js"
export { type ChainPoint, ChainReader, type ChainReaderOptions, type ItemSource, type ReadItem } from "./chain.js"
export { ConsumerError } from "./errors.js"
export { type HandedItem, isAcknowledged } from "./acknowledged.js"
export { unregisterGroup, type Unregistered } from "./unregister.js"
export { formatItem, itemOfLine, LINE_FORMATS, type LineFormat } from "./lines.js"
export { type FileSink, openFileSink, OutFileProblem } from "./file-sink.js"
export { groupLag } from "./group-lag.js"
export { printChain, type PrintChainOptions } from "./print.js"
