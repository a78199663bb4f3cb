// One measured child process for the bench orchestrators (run.js, merged.js): a script of
// bench/ run in a fresh node, so that its peak RSS and CPU are its own.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))

/** Run bench/`script`; resolve with its wall time (spawn → exit) and its last stdout line, parsed as JSON. */
export function child (script, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const proc = spawn(process.execPath, [join(HERE, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    proc.on('exit', (code) => {
      const wallMs = performance.now() - start
      if (code !== 0) { reject(new Error(`${script} exited with ${code}: ${err}`)); return }
      resolve({ wallMs, ...JSON.parse(out.trim().split('\n').at(-1)) })
    })
  })
}
