// Signed lines into any pino destination: the pipeline stage signs every line in
// pino's worker, and the next step of the pipeline (here pino-socket over TCP) ships
// the v1 records. A collector (a child process standing in for a log shipper's TCP
// input) writes what arrives to a file; then `audit-chain verify -` reads that file
// from standard input. Exits 0 only when what arrived verifies intact.
//
// Run: npm run build && node examples/pipeline-stage.js
import { createWriteStream, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fork, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { closeAuditTransport } from 'pino-audit-chain'
import { CLI, demoPaths, ensureKeys } from './demo-setup.js'

if (process.argv[2] === 'collector') {
  // The collector: accept one TCP connection, write every byte received to the file,
  // report when the sender has closed the connection.
  const received = createWriteStream(process.argv[3])
  const server = createServer((socket) => {
    socket.pipe(received)
    socket.on('end', () => {
      received.on('finish', () => {
        process.send({ bytes: received.bytesWritten })
        server.close()
        process.disconnect()
      })
    })
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
} else {
  await main()
}

async function main () {
  const paths = await ensureKeys(demoPaths())
  const dir = join(paths.logs, 'pipeline')
  mkdirSync(dir, { recursive: true })
  const receivedFile = join(dir, 'received.log') // rewritten each run: one chain per run
  const headFile = join(dir, 'stage.head.json')

  const collector = fork(fileURLToPath(import.meta.url), ['collector', receivedFile], { stdio: 'inherit' })
  const [{ port }] = await once(collector, 'message')
  console.log(`collector listening on 127.0.0.1:${port}, writing what it receives to ${receivedFile}`)
  const arrived = once(collector, 'message')

  // In your app, as here: the stage first, then any destination.
  const transport = pino.transport({
    pipeline: [
      { target: 'pino-audit-chain/stage', options: { privateKeyPath: paths.privateKey, headFile } },
      { target: 'pino-socket', options: { mode: 'tcp', address: '127.0.0.1', port } }
    ]
  })
  transport.on('error', (err) => {
    console.error(`audit pipeline failed: ${err.message}`)
    process.exit(1)
  })
  const logger = pino(transport)

  logger.info({ event: 'login', user: 'ada' }, 'user logged in')
  logger.warn({ event: 'permission_change', user: 'ada', role: 'admin' }, 'role granted')
  for (let i = 0; i < 1000; i++) logger.info({ event: 'code_execution', run: i, exitCode: 0 }, 'code ran')
  transport.write('a line that is not JSON: it is wrapped and signed, not dropped\n')
  logger.info({ event: 'logout', user: 'ada' }, 'user logged out')
  console.log('logged 1003 records and 1 plain-text line through [pino-audit-chain/stage → pino-socket]')

  // Closing ends the pipeline: the stage emits its seal (chain.close) and writes the
  // head, then pino-socket closes the connection. A plain process exit does the same.
  await closeAuditTransport(transport)
  const [{ bytes }] = await arrived
  const lines = readFileSync(receivedFile, 'utf8').split('\n').filter((l) => l.length > 0)
  console.log(`collector received ${bytes} bytes: ${lines.length} record lines (chain.open … chain.close)`)
  console.log(`head file ${headFile} names seq ${JSON.parse(readFileSync(headFile, 'utf8')).seq}`)

  console.log(`\n$ audit-chain verify - --key ${paths.publicKey} --head ${headFile} < ${receivedFile}`)
  const stdin = openSync(receivedFile, 'r')
  const verify = spawnSync(process.execPath, [CLI, 'verify', '-', '--key', paths.publicKey, '--head', headFile], { stdio: [stdin, 'inherit', 'inherit'] })
  closeSync(stdin)
  process.exitCode = verify.status ?? 2
}
