/** The host process snapshot that `log_level: comprehensive` adds to every record. */

export interface HostSnapshot {
  /** `process.resourceUsage()`: CPU times (µs), max RSS (KiB), I/O and context-switch counts. */
  resourceUsage: NodeJS.ResourceUsage
  /** `process.memoryUsage()`: rss, heapTotal, heapUsed, external, arrayBuffers (bytes). */
  memoryUsage: NodeJS.MemoryUsage
}

export function hostSnapshot (): HostSnapshot {
  return { resourceUsage: process.resourceUsage(), memoryUsage: process.memoryUsage() }
}
