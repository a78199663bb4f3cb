// Wrapping an app's existing pino logger: the app keeps logging to its own
// destination (stdout here); audit events go to the signed chain and carry the
// app logger's bindings (name, service). Run: node examples/wrap-app-logger.js
//
import pino from 'pino'
import { createAuditLogger } from 'pino-audit-chain'
import { demoPaths, ensureKeys } from './demo-setup.js'
import { join } from 'node:path'

const paths = await ensureKeys(demoPaths())

// The app's own logger, as it was before auditing: JSON to stdout, level warn.
const app = pino({ name: 'assistant', level: 'warn' }).child({ service: 'sandbox-runner' })

const audit = createAuditLogger({
  logger: app,
  // A policy given inline (loadAuditConfig('config/audit.yaml') returns the same shape).
  config: {
    hashChainEnabled: true,
    logLevel: 'standard',
    storageLocation: join(paths.logs, 'wrapped'),
    privateKeyPath: paths.privateKey,
    maxFieldBytes: 64 * 1024,
    alertThresholds: []
  }
})

app.warn('this line goes to stdout only, as before')
// Written although the app logger's level is warn: the audit level is its own.
const eventId = audit.logContainerCreation({ containerId: 'sbx-1', image: 'python:3.12-slim', network: 'none' })
app.warn({ eventId }, 'container created (the audit record is in the chain)')

await audit.close()
console.log(`audit records in ${join(paths.logs, 'wrapped', 'audit.log')}`)
