// The transport on its own: any pino logger, any fields. Every line becomes a
// hash-chained, signed record. Run: node examples/plain-transport.js
import { join } from 'node:path'
import pino from 'pino'
import { auditChainTransport } from 'pino-audit-chain'
import { demoPaths, ensureKeys } from './demo-setup.js'

const paths = await ensureKeys(demoPaths())
const destination = join(paths.logs, 'plain', 'audit.log')

// auditChainTransport() starts pino.transport({ target: 'pino-audit-chain', options })
// after checking the options and the key in this thread, and adds what only this
// thread can do: on SIGTERM/SIGINT (when the app has no handler of its own) it writes
// every pending record and the seal before the process ends by the signal, and errors
// from the worker keep their err.code ('PAC_…').
const transport = auditChainTransport({ destination, privateKeyPath: paths.privateKey })
const logger = pino(transport)
transport.on('error', (err) => { console.error(`audit log failed (${err.code}): ${err.message}`); process.exit(1) })

logger.info({ event: 'login', user: 'ada' }, 'user logged in')
logger.warn({ event: 'permission_change', user: 'ada', role: 'admin' }, 'role granted')

// Nothing else to do: when the process exits normally, pino ends the transport
// and the worker writes every pending record, the chain.close seal and the head
// file. To close earlier and wait for the seal:
//   import { closeAuditTransport } from 'pino-audit-chain'; await closeAuditTransport(transport)
console.log(`wrote ${destination}; verify with: npx audit-chain verify ${destination} --key ${paths.publicKey}`)
