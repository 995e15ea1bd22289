/** Observability: metrics, /health, the dashboard, run history, progress (docs/observability.md). */
export * from "./metrics.js"
export * from "./instrument.js"
export * from "./health.js"
export * from "./http.js"
export * from "./progress.js"
export * from "./runs.js"
export * from "./run.js"
export { DASHBOARD_HTML } from "./dashboard.js"
