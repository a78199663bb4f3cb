/**
 * pino-audit-chain: the default export is the pino transport, so that
 * `pino.transport({ target: 'pino-audit-chain', options })` works; apps start it with
 * `auditChainTransport()`, which also seals the chain on SIGTERM/SIGINT and keeps
 * errors' `code` (neither is possible from inside the worker).
 */
import type { AuditTransportOptions } from './transport/options.js'
import type { VerifyOptions, VerifyReport } from './verify/index.js'

/**
 * The transport, as pino's worker calls it. Its module graph is loaded here, on the
 * call, not when an app imports the package: the app's own thread never runs it and
 * would otherwise carry it in every process (bench/README.md, "Memory").
 */
export default async function auditChainTransportWorker (options: AuditTransportOptions): Promise<NodeJS.WritableStream> {
  const { default: start } = await import('./transport/worker.js')
  return await start(options)
}
export { auditChainTransport, transportTarget, type AuditChainTransportOptions } from './transport/spawn.js'
export type { SealSignals } from './transport/signals.js'
export { closeAuditTransport, type TransportStream } from './transport/close.js'
export type { AuditTransportOptions, FsyncMode } from './transport/options.js'
export { auditChainStage, stageTarget, type AuditStageStep } from './stage/step.js'
export type { AuditStageOptions } from './stage/options.js'
export { AuditChainError, hasCode, type AuditChainErrorCode } from './errors.js'
export { parseRecordLine, recordLine, recordHash, chainMemberText, GENESIS_PREV, type ChainMember } from './format/record.js'
export { keyIdOf, generateKeyPairPem } from './format/keys.js'
export type { ChainHead } from './format/head.js'
export * from './audit/index.js'
export type { VerifyOptions, VerifyReport, Finding, FindingKind, ChainSummary, StateOutcome } from './verify/index.js'
export { formatReport } from './verify/report.js'

/**
 * Verifies audit logs (docs/verifying.md). The verifier's modules are loaded on the
 * first call, not when an app that only logs imports the package.
 */
export async function verify (paths: string[], options: VerifyOptions): Promise<VerifyReport> {
  const { verify: run } = await import('./verify/index.js')
  return await run(paths, options)
}
export { readAuditLog, type ReadAuditLogOptions, type AuditEntry, type AuditLogReader, type RecordStatus } from './read/read-log.js'
export type { AuditFilter, FieldValue } from './read/filter.js'
