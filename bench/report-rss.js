// Preloaded (node --import) into a command the bench measures: writes the process's
// peak RSS in bytes (worker threads included) to $RSS_OUT when it exits.
import { writeFileSync } from 'node:fs'
process.on('exit', () => { writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS * 1024)) })
