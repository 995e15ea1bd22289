for (const m of process.argv.slice(2)) await import(m)
global.gc?.()
const u = process.memoryUsage()
console.log(process.argv.slice(2).join(" ").padEnd(90), ((u.rss)/2**20).toFixed(1), "MiB rss; heapUsed", (u.heapUsed/2**20).toFixed(1))
