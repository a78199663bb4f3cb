/**
 * `audit-chain init [DIR]`: give an app its own copy of the shipped policy
 * (DIR/config/audit.yaml) and a key pair (DIR/keys), and print the code to paste.
 * The shipped policy's paths are relative to its own directory (../logs/audit,
 * ../keys/audit-ed25519.key), so the copy works as written from DIR. Never
 * overwrites: an app's edited policy or its signing key is not replaced by a rerun.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AuditChainError } from '../errors.js'
import { makeDirectory } from '../transport/safe-fs.js'
import { existsError, keygen, writeNew } from './keygen.js'
import { UsageError } from './usage-error.js'

/** The policy shipped in the package (exported as pino-audit-chain/config/audit.yaml). */
export const SHIPPED_POLICY = fileURLToPath(new URL('../../config/audit.yaml', import.meta.url))

const KEY_NAME = 'audit-ed25519'

export interface InitResult {
  policyPath: string
  privatePath: string
  publicPath: string
  kid: string
  /** Where the policy makes createAuditLogger write: `<storage_location>`. */
  logDir: string
}

/** Write DIR/config/audit.yaml and DIR/keys/audit-ed25519.{key,pub}; nothing if any of them exists. */
export function init (dir: string): InitResult {
  const configDir = join(dir, 'config')
  const keyDir = join(dir, 'keys')
  const policyPath = join(configDir, 'audit.yaml')
  const targets: Array<[string, 'policy' | 'key']> = [[policyPath, 'policy'], [join(keyDir, `${KEY_NAME}.key`), 'key'], [join(keyDir, `${KEY_NAME}.pub`), 'key']]
  // All checked before anything is written: a rerun leaves a half-set-up app as it was.
  for (const [path, what] of targets) {
    if (existsSync(path)) throw existsError(path, what)
  }
  let policy: string
  try {
    policy = readFileSync(SHIPPED_POLICY, 'utf8')
  } catch (err) {
    throw new AuditChainError('PAC_CONFIG', `the shipped policy ${SHIPPED_POLICY} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): the package install is incomplete`)
  }
  try {
    makeDirectory(configDir, 0o755, 'the policy directory')
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    throw new AuditChainError('PAC_CONFIG', `cannot create directory ${configDir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  // The key pair first: keygen refuses an unsafe key directory, and then no policy
  // pointing at a key that was never written is left behind.
  const keys = keygen(keyDir, KEY_NAME)
  writeNew(policyPath, policy, 0o644, 'policy')
  return { policyPath, privatePath: keys.privatePath, publicPath: keys.publicPath, kid: keys.kid, logDir: join(dir, 'logs', 'audit') }
}

/** A path as a JavaScript string literal in the project's style (single quotes). */
function jsString (text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** `audit-chain init [DIR]`: exit status 0 written. */
export function runInit (dir: string | undefined): number {
  if (dir === '') throw new UsageError('init needs a directory name, or nothing for the current directory')
  const r = init(dir ?? '.')
  process.stdout.write(`policy       ${r.policyPath}  (a copy of the shipped policy: edit it; its paths are relative to its own directory)
private key  ${r.privatePath}  (mode 0600: for the app only, never for auditors)
public key   ${r.publicPath}  (key id ${r.kid}: give it to auditors)
logs         ${r.logDir}/audit.log  (storage_location in the policy)

The paths are relative to the directory you ran init in: run the app from there.
The audit API (typed security events, alerts), with this policy:

  import { createAuditLogger } from 'pino-audit-chain'
  const audit = createAuditLogger({ config: ${jsString(r.policyPath)} })

Or any pino logger, with the same key:

  import pino from 'pino'
  import { auditChainTransport } from 'pino-audit-chain'
  const logger = pino(auditChainTransport({ destination: ${jsString(join(r.logDir, 'audit.log'))}, privateKeyPath: ${jsString(r.privatePath)} }))

Check the logs:

  npx audit-chain verify ${r.logDir} --key ${r.publicPath}
`)
  return 0
}
