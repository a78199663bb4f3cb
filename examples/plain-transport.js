// The transport on its own: any pino logger, any fields. Every line becomes a
// hash-chained, signed record. Run: node examples/plain-transport.js
import { join } from 'node:path'
import pino from 'pino'
import { demoPaths, ensureKeys } from './demo-setup.js'

const paths = await ensureKeys(demoPaths())
const destination = join(paths.logs, 'plain', 'audit.log')

// In your app the target is the package name: target: 'pino-audit-chain'.
const transport = pino.transport({
  target: 'pino-audit-chain',
  options: { destination, privateKeyPath: paths.privateKey }
})
const logger = pino(transport)

logger.info({ event: 'login', user: 'ada' }, 'user logged in')
logger.warn({ event: 'permission_change', user: 'ada', role: 'admin' }, 'role granted')

// Nothing else to do: when the process exits normally, pino ends the transport
// and the worker writes every pending record, the chain.close seal and the head
// file. To close earlier and wait for the seal:
//   import { closeAuditTransport } from 'pino-audit-chain'; await closeAuditTransport(transport)
console.log(`wrote ${destination}; verify with: npx audit-chain verify ${destination} --key ${paths.publicKey}`)
