// The collector of the example: an rsyslogd of its own, started in the foreground with
// examples/collector/rsyslog.conf, its work directory, pid file and port under a
// directory it is given. Nothing of the host's rsyslog (config, port 514, /dev/log)
// is touched, so this runs next to a system rsyslog and needs no root.
import { existsSync, mkdirSync, openSync, closeSync, readSync, readFileSync, fstatSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

export const CONF = fileURLToPath(new URL('rsyslog.conf', import.meta.url))

/** Where the OS packages put rsyslogd (Debian, Ubuntu, Fedora, RHEL, Alpine, Arch); RSYSLOGD overrides it. */
export const RSYSLOGD = process.env.RSYSLOGD ?? '/usr/sbin/rsyslogd'

export const INSTALL_HINT = 'install rsyslog from the OS packages: Debian/Ubuntu `sudo apt-get install -y rsyslog`, ' +
  'Fedora/RHEL `sudo dnf install -y rsyslog`, Alpine `sudo apk add rsyslog`, Arch `sudo pacman -S rsyslog` ' +
  '(or set RSYSLOGD to the path of an rsyslogd binary)'

// How often the port file and the merged file are looked at. Polling, not fs.watch:
// rsyslog appends from its own threads, and a poll cannot miss an event.
const POLL_MS = 50

/**
 * Start rsyslogd on a free port of 127.0.0.1, appending what arrives to `file`.
 * Resolves once it listens: `{ port, ownLog, stop }`; `stop()` ends it with SIGTERM
 * (rsyslog's clean shutdown: queues drained, files closed) and rejects unless it exits 0.
 */
export async function startRsyslog ({ file, runDir, timeoutMs = 30_000 }) {
  if (!existsSync(RSYSLOGD)) throw new Error(`rsyslogd is not installed (no ${RSYSLOGD}): ${INSTALL_HINT}`)
  const workDir = join(runDir, 'work')
  mkdirSync(workDir, { recursive: true })
  const portFile = join(runDir, 'rsyslogd.port')
  const ownLog = join(runDir, 'rsyslogd.log')
  const child = spawn(RSYSLOGD, ['-n', '-f', CONF, '-i', join(runDir, 'rsyslogd.pid')], {
    env: { ...process.env, AUDIT_RSYSLOG_WORKDIR: workDir, AUDIT_RSYSLOG_PORTFILE: portFile, AUDIT_RSYSLOG_FILE: file, AUDIT_RSYSLOG_OWNLOG: ownLog },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }))
  let exit
  exited.then((e) => { exit = e })
  const said = () => `${output.trim()}${existsSync(ownLog) ? `\n${readFileSync(ownLog, 'utf8').trim()}` : ''}`

  const deadline = Date.now() + timeoutMs
  let port = 0
  while (port === 0) {
    if (exit !== undefined) throw new Error(`rsyslogd -f ${CONF} exited (${exit.code ?? exit.signal}) before listening:\n${said()}`)
    if (Date.now() > deadline) {
      child.kill('SIGTERM')
      throw new Error(`rsyslogd did not write its port to ${portFile} within ${timeoutMs / 1000} s:\n${said()}`)
    }
    const text = existsSync(portFile) ? readFileSync(portFile, 'utf8').trim() : ''
    if (/^[1-9]\d*$/.test(text)) port = Number(text)
    else await sleep(POLL_MS)
  }

  async function stop () {
    if (exit === undefined) child.kill('SIGTERM')
    const { code, signal } = await exited
    if (code !== 0) throw new Error(`rsyslogd stopped with ${code ?? signal}, not 0:\n${said()}`)
  }
  return { port, pid: child.pid, ownLog, stop }
}

/**
 * Wait until `file` holds at least `expected` complete lines. Rejects after `timeoutMs`
 * with how many arrived, so a lost line is an error, not a hang.
 */
export async function waitForLines (file, expected, { timeoutMs = 60_000, ownLog } = {}) {
  const deadline = Date.now() + timeoutMs
  let lines = 0
  let offset = 0
  const chunk = Buffer.alloc(1 << 16)
  for (;;) {
    // Count newlines from where the last look stopped: the file only grows.
    if (existsSync(file)) {
      const fd = openSync(file, 'r')
      try {
        const size = fstatSync(fd).size
        while (offset < size) {
          const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset)
          if (n === 0) break
          for (let i = 0; i < n; i++) if (chunk[i] === 0x0a) lines++
          offset += n
        }
      } finally {
        closeSync(fd)
      }
    }
    if (lines >= expected) return lines
    if (Date.now() > deadline) {
      throw new Error(`rsyslog wrote ${lines} of the ${expected} lines sent to ${file} within ${timeoutMs / 1000} s` +
        (ownLog !== undefined ? `; rsyslog's own messages are in ${ownLog}` : ''))
    }
    await sleep(POLL_MS)
  }
}
