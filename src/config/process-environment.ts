/**
 * The environment as the process entry reads it before the settings table (and Effect) are loaded:
 * the in-place restart with the batch commands' memory flags, and the memory diagnostic
 * (HECATE_MEMORY_LOG_MS, docs/configuration.md), are decided before anything else is imported.
 * Every other setting is read through the settings table (settings.ts, HecateConfigLive).
 */
export const processEnvironment = (): NodeJS.ProcessEnv => process.env

/** HECATE_MEMORY_LOG_MS: milliseconds between memory lines on stderr; unset = off. */
export const memoryLogSetting = (): string | undefined => process.env["HECATE_MEMORY_LOG_MS"]
