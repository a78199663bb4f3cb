/**
 * Where audit records go: the hash-chained, signed transport (one pino worker),
 * or — only when the policy sets `hash_chain_enabled: false` — pino's plain
 * `pino/file` transport, which is not tamper-evident.
 */
import { join } from 'node:path'
import pino from 'pino'
import { AuditChainError } from '../errors.js'
import type { AuditConfig } from '../config/types.js'
import { auditChainTransport } from '../transport/spawn.js'
import type { AuditTransportOptions } from '../transport/options.js'

export type { TransportStream } from '../transport/close.js'
import type { TransportStream } from '../transport/close.js'

/** Name of the current log file inside `storage_location`. */
export const LOG_FILE_NAME = 'audit.log'

let warnedUnchained = false

function warnUnchainedOnce (destination: string): void {
  if (warnedUnchained) return
  warnedUnchained = true
  process.emitWarning(
    `hash_chain_enabled is false: audit records are written to ${destination} as plain pino lines, ` +
    'without hash chain or signature. Nothing will detect edits, deletions or truncation of this log.',
    { code: 'PAC_UNCHAINED' }
  )
}

/** The transport options the policy implies, with the caller's overrides on top. */
export function chainOptions (config: AuditConfig, overrides: Partial<AuditTransportOptions> = {}): AuditTransportOptions {
  const options: AuditTransportOptions = { destination: join(config.storageLocation, LOG_FILE_NAME) }
  const { rotation } = config
  if (rotation !== undefined && (rotation.maxSizeBytes !== undefined || rotation.intervalMs !== undefined)) {
    options.rotation = {
      ...(rotation.maxSizeBytes !== undefined ? { size: rotation.maxSizeBytes } : {}),
      ...(rotation.intervalMs !== undefined ? { interval: rotation.intervalMs } : {})
    }
  }
  if (config.retentionPeriodMs !== undefined) options.retention = { maxAge: config.retentionPeriodMs }
  if (config.perProcess === true) options.perProcess = true
  // An explicit key (path, PEM or epoch bundle) from the caller replaces the policy's.
  if (overrides.privateKey === undefined && overrides.privateKeyPath === undefined && overrides.epochKeysPath === undefined) {
    if (config.epochKeysPath !== undefined) options.epochKeysPath = config.epochKeysPath
    else if (config.privateKeyPath !== undefined) options.privateKeyPath = config.privateKeyPath
  }
  Object.assign(options, overrides)
  if (options.privateKeyPath === undefined && options.privateKey === undefined && options.epochKeysPath === undefined) {
    const where = config.source !== undefined ? `in ${config.source}` : 'in the audit policy'
    throw new AuditChainError('PAC_CONFIG', `no signing key: set signing.private_key_path (or signing.epoch_keys_path) ${where}, or pass transport.privateKeyPath, transport.privateKey or transport.epochKeysPath to createAuditLogger (create a key with "npx audit-chain keygen --out <dir>")`)
  }
  return options
}

/** Start the transport the policy asks for; bad options or keys throw here, in the caller's thread. */
export function openDestination (config: AuditConfig, overrides?: Partial<AuditTransportOptions>): { stream: TransportStream, destination: string } {
  if (!config.hashChainEnabled) {
    const destination = join(config.storageLocation, LOG_FILE_NAME)
    warnUnchainedOnce(destination)
    return { stream: pino.transport({ target: 'pino/file', options: { destination, mkdir: true } }), destination }
  }
  const options = chainOptions(config, overrides)
  return { stream: auditChainTransport(options), destination: options.destination }
}
