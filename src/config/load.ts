/**
 * Loading the audit policy: read the file, parse YAML (js-yaml), validate (zod),
 * then resolve defaults, units and paths into an {@link AuditConfig}. Every failure
 * is one AuditChainError (code PAC_CONFIG) that names the file, the key's line and the key.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { AuditChainError } from '../errors.js'
import type { AuditEventType } from '../audit/vocabulary.js'
import { issueMessages } from './messages.js'
import { keyLines } from './positions.js'
import { policySchema, type ParsedPolicy } from './schema.js'
import type { AlertThreshold, AuditConfig } from './types.js'
import { parseDuration } from './units.js'

// js-yaml is loaded on the first policy read (see schema.ts on zod): synchronous, as
// loadAuditConfig is, and not carried by apps that never read a policy.
const require = createRequire(import.meta.url)
const yaml = (): typeof import('js-yaml') => require('js-yaml') as typeof import('js-yaml')

/** Where a policy document came from, for messages and relative paths. */
export interface PolicySource {
  /** The file it was read from; named in every error. */
  file?: string
  /** Directory that relative paths in the policy resolve against. Default: the file's directory, else the working directory. */
  baseDir?: string
}

/**
 * Read and validate an audit policy file (YAML, see `config/audit.yaml`).
 *
 * Relative paths in it (`storage_location`, `signing.private_key_path`, `signing.epoch_keys_path`) resolve
 * against the policy file's own directory, so the policy means the same thing
 * whatever the working directory of the process.
 *
 * @throws {AuditChainError} code `PAC_CONFIG`: the file is missing or unreadable,
 *   is not valid YAML (with line and column), has an unknown key (with the closest
 *   known key), or a value of the wrong type or form (with the key path, what was
 *   found and what was expected).
 */
export function loadAuditConfig (path: string): AuditConfig {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`loadAuditConfig: path must be a non-empty string, got ${typeof path}`)
  }
  const file = resolve(path)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new AuditChainError('PAC_CONFIG', `audit policy file ${file} does not exist`)
    throw new AuditChainError('PAC_CONFIG', `audit policy file ${file} cannot be read (${code ?? String(err)})`, { cause: err })
  }
  let docs: unknown[]
  try {
    // loadAll, not load: js-yaml 5's load() rejects an empty file, which here is
    // a valid policy of all defaults.
    docs = yaml().loadAll(text, { filename: file })
  } catch (err) {
    if (err instanceof yaml().YAMLException) {
      // js-yaml marks are 0-based; editors count from 1.
      const at = err.mark !== undefined ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : ''
      throw new AuditChainError('PAC_CONFIG', `${file}: YAML syntax error${at}: ${err.reason}`, { cause: err })
    }
    throw err
  }
  if (docs.length > 1) {
    throw new AuditChainError('PAC_CONFIG', `${file}: expected one YAML document, found ${docs.length} (separated by ---)`)
  }
  return checkPolicy(docs[0], { file }, text)
}

/**
 * Validate a policy document already in memory (the YAML file's structure, with its
 * snake_case keys) and resolve it into an {@link AuditConfig}.
 *
 * @throws {AuditChainError} code `PAC_CONFIG`, as {@link loadAuditConfig}.
 */
export function parseAuditPolicy (doc: unknown, source: PolicySource = {}): AuditConfig {
  return checkPolicy(doc, source)
}

/** {@link parseAuditPolicy}; with the file's `text`, messages also give the line of each key. */
function checkPolicy (doc: unknown, source: PolicySource, text?: string): AuditConfig {
  const where = source.file ?? 'audit policy'
  // An empty file is a policy of all defaults (YAML reads it as null).
  const input = doc === null || doc === undefined ? {} : doc
  const result = policySchema().safeParse(input)
  if (!result.success) {
    // Positions are only worked out for a policy that fails: a second parse, of a small file.
    const lines = issueMessages(where, input, result.error.issues, text === undefined ? undefined : keyLines(text))
    throw new AuditChainError('PAC_CONFIG', lines.join('\n'))
  }
  const baseDir = source.baseDir ?? (source.file !== undefined ? dirname(source.file) : process.cwd())
  return resolvePolicy(result.data, baseDir, source.file)
}

function resolvePolicy (p: ParsedPolicy, baseDir: string, file: string | undefined): AuditConfig {
  const config: AuditConfig = {
    hashChainEnabled: p.hash_chain_enabled,
    logLevel: p.log_level,
    storageLocation: resolve(baseDir, p.storage_location),
    perProcess: p.per_process,
    maxFieldBytes: p.max_field_bytes,
    alertThresholds: Object.entries(p.alert_thresholds).map(([name, t]): AlertThreshold => ({
      name,
      // The schema's refinement guarantees one of the two is an event name.
      event: t.event ?? name,
      count: t.count,
      windowMs: parseDuration(t.window) as number,
      window: t.window,
      ...(t.risk_level !== undefined ? { riskLevel: t.risk_level } : {})
    }))
  }
  if (file !== undefined) config.source = file
  if (p.retention_period !== undefined) config.retentionPeriodMs = p.retention_period
  if (p.rotation !== undefined) {
    config.rotation = {
      ...(p.rotation.max_size !== undefined ? { maxSizeBytes: p.rotation.max_size } : {}),
      ...(p.rotation.interval !== undefined ? { intervalMs: p.rotation.interval } : {})
    }
  }
  if (p.signing?.private_key_path !== undefined) config.privateKeyPath = resolve(baseDir, p.signing.private_key_path)
  if (p.signing?.epoch_keys_path !== undefined) config.epochKeysPath = resolve(baseDir, p.signing.epoch_keys_path)
  return config
}
