// A fastify app whose route handlers record security events. Fastify keeps its own
// pino logger (request logs to stdout); the audit logger inherits its bindings and
// writes to the signed chain. Run: node examples/fastify-app.js  (PORT, HOST to change)
//
//   curl -XPOST localhost:3000/containers -H 'content-type: application/json' \
//        -d '{"containerId":"sbx-1","image":"python:3.12-slim"}'
//
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import pino from 'pino'
import { createAuditLogger, loadAuditConfig } from 'pino-audit-chain'
import { ROOT, demoPaths, ensureKeys } from './demo-setup.js'

/** Build the app over an audit logger; the audit log is closed (chain sealed) when the app closes. */
export function buildApp ({ audit, loggerInstance }) {
  const app = Fastify({ loggerInstance })

  // One audit child per request: its records carry the request id, so a record in
  // the chain can be matched with fastify's own request log.
  app.decorateRequest('audit', null)
  app.addHook('onRequest', async (request) => {
    request.audit = audit.child({ reqId: request.id })
  })
  app.addHook('onClose', async () => { await audit.close() })

  // The audit methods validate their input and throw TypeError/RangeError naming the field.
  app.setErrorHandler(async (err, request, reply) => {
    if (err instanceof TypeError || err instanceof RangeError) {
      return await reply.code(400).send({ error: err.message })
    }
    request.log.error({ err }, 'request failed')
    return await reply.code(err.statusCode ?? 500).send({ error: err.message })
  })

  app.post('/containers', async (request) => ({ eventId: request.audit.logContainerCreation(request.body) }))
  app.post('/assessments', async (request) => ({ eventId: request.audit.logSecurityAssessment(request.body) }))
  app.post('/executions', async (request) => ({ eventId: request.audit.logCodeExecution(request.body) }))
  app.post('/violations', async (request) => ({ eventId: request.audit.logResourceViolation(request.body) }))
  return app
}

async function main () {
  const paths = await ensureKeys(demoPaths())
  const policy = loadAuditConfig(join(ROOT, 'config/audit.yaml'))
  const config = { ...policy, storageLocation: join(paths.logs, 'fastify'), privateKeyPath: paths.privateKey }

  // The app's pino logger, handed to fastify; the audit logger inherits its bindings.
  const logger = pino({ name: 'assistant-api' })
  const audit = createAuditLogger({
    logger,
    config,
    onAlert: (alert) => { logger.error({ alert }, `audit alert: ${alert.threshold}`) }
  })
  const app = buildApp({ audit, loggerInstance: logger })

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      app.close().then(() => { process.exitCode = 0 }, (err) => {
        logger.error({ err }, 'shutdown failed')
        process.exitCode = 1
      })
    })
  }
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
