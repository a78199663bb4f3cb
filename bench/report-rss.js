// Preloaded (node --import) into a command the bench measures: writes the process's
// peak RSS in bytes (worker threads included) to $RSS_OUT when it exits.

import { writeFileSync } from 'node:fs'
// With $USAGE_OUT, also its CPU time (user + system, ms): bench/merged.js's CLI row.
process.on('exit', () => {
  const usage = process.resourceUsage()
  if (process.env.RSS_OUT !== undefined) writeFileSync(process.env.RSS_OUT, String(usage.maxRSS * 1024))
  if (process.env.USAGE_OUT !== undefined) writeFileSync(process.env.USAGE_OUT, JSON.stringify({ maxRssKB: usage.maxRSS, cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000) }))
})
