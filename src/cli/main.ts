#!/usr/bin/env node
/**
 * The `audit-chain` command: `keygen`, `verify`, `show`, `report`, `head` and `epochs`.
 * Exit codes: 0 intact (or done), 1 problems found, 2 could not run.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { AuditChainError } from '../errors.js'
import { loadVerifyKey, type VerifyKey } from '../format/keys.js'
import { verify, formatReport, printable, DEFAULT_MAX_LINE_BYTES } from '../verify/index.js'
import { headFilesOf, readHead, shippedLine } from './head.js'
import { loadCerts } from '../verify/certs.js'
import { keygen } from './keygen.js'
import { EPOCHS_OPTIONS, runEpochs } from './epochs.js'
import { UsageError } from './usage-error.js'
import { progressBar } from './progress.js'
import { runShow, SHOW_OPTIONS, SHOW_USAGE } from './show.js'
import { runReport, REPORT_OPTIONS, REPORT_USAGE } from './report.js'

const EXIT_OK = 0
const EXIT_PROBLEMS = 1
const EXIT_CANNOT_RUN = 2

const USAGE = `Usage:
  audit-chain verify PATH... --key PUB [--key PUB]... [--head FILE]... [--state FILE] [--require-seal] [--threads N] [--max-line-bytes N] [--excerpt] [--json] [--quiet]
  audit-chain verify PATH... --master PUB --certs FILE [--certs FILE]... [--key PUB]... [same options]
  audit-chain show PATH... --key PUB [--event TYPE]... [--since T] [--until T] [--level L] [--where F=V]... [--all] [--include-unverified] [--format pretty|json|csv] [--fields A,B.C]
  audit-chain report PATH... --key PUB --out FILE [--head FILE]... [--state FILE] [show's filters] [--max-records N]
  audit-chain head PATH [--key PUB]... [--master PUB --certs FILE]... [--json]
  audit-chain keygen --out DIR [--name NAME] [--master]
  audit-chain epochs --master MASTER.key --start ISO-TIME --interval DURATION --count N --out DIR
  audit-chain help

verify   Check audit logs written by pino-audit-chain.
         PATH is a log file, a directory (every log file in it, grouped into chains and
         read in seq order; its *.head.json files are used as heads), or - for stdin.
  --key PUB        public key (SPKI PEM) records may be signed with; repeat for rotated keys
  --master PUB     epoch keys: a master public key (from "keygen --master"); repeatable.
                   Only the certificates it signed are trusted
  --certs FILE     epoch keys: a certificate file (from "epochs"); repeatable. Each trusted
                   certificate adds its epoch key, which must sign inside its window and in
                   epoch order. Needs --master; --key is then optional
  --head FILE      a head file (copied off the host) the log must still reach; repeatable.
                   A file of several heads, one per line (as "head" appends them), checks each
  --state FILE     remember each chain's last verified record in FILE (created if missing);
                   next time, a log that no longer reaches it unchanged is a problem (rollback)
  --require-seal   a chain that is neither sealed nor covered by a head is a problem, not a warning
  --threads N      threads that check signatures, 1-64 (default: cores, up to 4; 1: no extra threads)
  --max-line-bytes N
                   skip lines longer than N bytes as line-too-long (default ${DEFAULT_MAX_LINE_BYTES},
                   64 MiB: the writer never signs a longer line). One line is held at a time,
                   so N bounds memory; raise it only for logs from another writer
  --excerpt        check each line alone (hash, signature, key window), not links or
                   completeness: for a selection of records, such as "show --format json"
                   writes; the verdict counts the authentic records and proves nothing
                   about records left out (FORMAT.md §11)
  --json           print one JSON report on stdout and nothing else
  --quiet          print only the final verdict line
  Findings are printed problems first, then warnings, each in reading order, as
    FILE:LINE seq N  KIND — MESSAGE
  then one line per chain and the verdict.
  Exit status: 0 intact, 1 problems found, 2 could not run.

${SHOW_USAGE}
${REPORT_USAGE}
head     Print the signed head of a log, byte for byte, one line per head file, to ship
         it off the host (e.g. from cron: audit-chain head LOG >> /offhost/heads.jsonl).
         PATH is a head file, a log file (its PATH.head.json) or a directory (its *.head.json).
  --key PUB        check the head's signature first; a head that fails is not printed (exit 1)
  --master PUB, --certs FILE
                   the same with epoch keys: the head's key must be certified (repeatable)
  --json           print one JSON report (file, head, signature) instead of the head lines
  Exit status: 0 printed, 1 a head is not valid, 2 could not run (no head file, unreadable key).

keygen   Create an Ed25519 key pair: DIR/NAME.key (private, mode 0600, for the transport)
         and DIR/NAME.pub (public, for auditors). Never overwrites an existing key.
  --out DIR        directory to write to (created with mode 0700 if needed)
  --name NAME      file name stem (default audit-ed25519, or audit-master with --master)
  --master         a master key pair, to certify epoch keys (see "epochs"): keep its
                   private half offline, never on the log host

epochs   Forward security: one key pair per epoch (e.g. a day), certified by a master key.
         Writes DIR/epoch-keys.json (mode 0600: the epoch private keys, for the transport's
         epochKeysPath; the transport erases each key from it when its epoch ends) and
         DIR/epoch-keys.certs (the master-signed certificates, for auditors:
         audit-chain verify LOGS --master MASTER.pub --certs DIR/epoch-keys.certs).
  --master FILE    the master private key (from "keygen --master")
  --start TIME     start of the first epoch, ISO 8601 with a time zone (2026-12-01T00:00:00Z)
  --interval DUR   length of each epoch: 1d, 6h, 30m... (at least 1s)
  --count N        number of epochs, 1-100000
  --out DIR        directory to write to; never overwrites
`


function parse (args: string[], options: NonNullable<ParseArgsConfig['options']>): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** --threads N: a whole number from 1 to 64. */
function threadCount (text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= 64)) throw new UsageError(`--threads must be a whole number from 1 to 64 (got "${text}")`)
  return n
}

/** --max-line-bytes N: a whole number of bytes, at least 1. */
function lineLimit (text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new UsageError(`--max-line-bytes must be a whole number of bytes, at least 1 (got "${text}"); the default is ${DEFAULT_MAX_LINE_BYTES}`)
  return n
}

async function runVerify (args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    key: { type: 'string', short: 'k', multiple: true },
    master: { type: 'string', multiple: true },
    certs: { type: 'string', multiple: true },
    head: { type: 'string', multiple: true },
    'require-seal': { type: 'boolean' },
    state: { type: 'string' },
    threads: { type: 'string' },
    'max-line-bytes': { type: 'string' },
    excerpt: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' }
  })
  const keys = (values.key ?? []) as string[]
  const masters = (values.master ?? []) as string[]
  const certs = (values.certs ?? []) as string[]
  if (positionals.length === 0) throw new UsageError('verify needs at least one PATH (a log file, a directory, or - for standard input)')
  if (certs.length > 0 && masters.length === 0) throw new UsageError('--certs needs --master PUB: the master public key that signed the certificates (written by "audit-chain keygen --master"); a certificate is only trusted through it')
  if (masters.length > 0 && certs.length === 0) throw new UsageError('--master needs --certs FILE: the certificate file of the epoch keys it signed (written by "audit-chain epochs")')
  if (keys.length === 0 && certs.length === 0) throw new UsageError('verify needs --key PUB: the public key the log was signed with (written by "audit-chain keygen"), or, for epoch keys, --master PUB and --certs FILE')
  const threads = values.threads === undefined ? undefined : threadCount(values.threads as string)
  const maxLineBytes = values['max-line-bytes'] === undefined ? undefined : lineLimit(values['max-line-bytes'] as string)
  const json = values.json === true
  const progress = progressBar(process.stderr, !json && values.quiet !== true)
  let report
  try {
    report = await verify(positionals, {
      keys,
      masters,
      certs,
      heads: (values.head ?? []) as string[],
      requireSeal: values['require-seal'] === true,
      ...(typeof values.state === 'string' ? { state: values.state } : {}),
      threads,
      ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
      ...(values.excerpt === true ? { excerpt: true } : {}),
      onProgress: progress.update
    })
  } finally {
    progress.done()
  }
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, { quiet: values.quiet === true }))
  return report.ok ? EXIT_OK : EXIT_PROBLEMS
}

function runHead (args: string[]): number {
  const { values, positionals } = parse(args, {
    key: { type: 'string', short: 'k', multiple: true },
    master: { type: 'string', multiple: true },
    certs: { type: 'string', multiple: true },
    json: { type: 'boolean' }
  })
  if (positionals.length !== 1) throw new UsageError('head needs exactly one PATH: a head file, a log file, or the directory they are in')
  const keyPaths = (values.key ?? []) as string[]
  const masterPaths = (values.master ?? []) as string[]
  const certPaths = (values.certs ?? []) as string[]
  if ((masterPaths.length > 0) !== (certPaths.length > 0)) throw new UsageError('head needs --master and --certs together: epoch keys are trusted through certificates signed by a master key')
  let keyring: Map<string, VerifyKey> | undefined
  if (keyPaths.length > 0 || masterPaths.length > 0) {
    keyring = new Map()
    for (const path of keyPaths) {
      const key = loadVerifyKey(path)
      keyring.set(key.kid, key)
    }
    const masters = new Map(masterPaths.map((p) => loadVerifyKey(p)).map((k) => [k.kid, k]))
    const certProblems: string[] = []
    for (const key of loadCerts(certPaths, masters, (f) => { certProblems.push(`${f.file}:${f.line ?? 0}: ${f.message}`) })) keyring.set(key.kid, key)
    // A head is only as good as the certificate of its key: say why one is not trusted.
    for (const p of certProblems) process.stderr.write(`audit-chain: ${printable(p)}\n`)
  }
  const readings = headFilesOf(positionals[0]).map((file) => readHead(file, keyring))
  const ok = readings.every((r) => r.ok)
  if (values.json === true) {
    const heads = readings.map(({ file, ok, head, signature, problem }) => ({ file, ok, head: head ?? null, signature, ...(problem !== undefined ? { problem } : {}) }))
    process.stdout.write(JSON.stringify({ ok, heads }, null, 2) + '\n')
  } else {
    // Only heads that passed go to stdout: a cron job must not ship one that failed.
    for (const r of readings) {
      if (r.ok) process.stdout.write(shippedLine(r))
      else process.stderr.write(`audit-chain: ${printable(`${r.file}: the head cannot be trusted: ${r.problem ?? 'unknown'}`)}\n`)
    }
  }
  return ok ? EXIT_OK : EXIT_PROBLEMS
}

function runKeygen (args: string[]): number {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' },
    name: { type: 'string' },
    master: { type: 'boolean' }
  })
  const master = values.master === true
  if (positionals.length > 0) throw new UsageError(`keygen takes no positional arguments (got ${positionals.join(' ')}); use --out DIR`)
  if (typeof values.out !== 'string' || values.out.length === 0) throw new UsageError('keygen needs --out DIR: where to write the key pair')
  const result = keygen(values.out, typeof values.name === 'string' ? values.name : (master ? 'audit-master' : undefined))
  if (master) {
    process.stdout.write(`master key id      ${result.kid}
master private key ${result.privatePath}  (mode 0600: use it only to run "audit-chain epochs", then keep it offline, never on the log host)
master public key  ${result.publicPath}  (give it to auditors: audit-chain verify LOGS --master ${result.publicPath} --certs CERTS)
`)
    return EXIT_OK
  }
  process.stdout.write(`key id      ${result.kid}
private key ${result.privatePath}  (mode 0600: give it to the transport only, keep it off the log host's shared paths)
public key  ${result.publicPath}  (give it to auditors: audit-chain verify LOGS --key ${result.publicPath})
`)
  return EXIT_OK
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'verify': return await runVerify(rest)
      case 'show': {
        const { values, positionals } = parse(rest, SHOW_OPTIONS)
        return (await runShow(values, positionals)) ? EXIT_OK : EXIT_PROBLEMS
      }
      case 'report': {
        const { values, positionals } = parse(rest, REPORT_OPTIONS)
        return (await runReport(values, positionals)) ? EXIT_OK : EXIT_PROBLEMS
      }
      case 'keygen': return runKeygen(rest)
      case 'epochs': return runEpochs(parse(rest, EPOCHS_OPTIONS))
      case 'head': return runHead(rest)
      case 'help': case '--help': case '-h':
        process.stdout.write(USAGE)
        return EXIT_OK
      case undefined:
        process.stderr.write(USAGE)
        return EXIT_CANNOT_RUN
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (err) {
    // Messages name paths as given, and a path is untrusted text: escaped for the terminal.
    if (err instanceof UsageError) {
      // parseArgs writes some messages on several lines; one line reads as well.
      process.stderr.write(`audit-chain: ${printable(err.message.replace(/\n/g, ' '))} (see "audit-chain --help")\n`)
      return EXIT_CANNOT_RUN
    }
    if (err instanceof AuditChainError) {
      process.stderr.write(`audit-chain: ${printable(err.message)}\n`)
      return EXIT_CANNOT_RUN
    }
    // Anything else is a bug of ours; still one line, never a stack trace for users.
    process.stderr.write(`audit-chain: internal error: ${printable((err as Error)?.message ?? String(err))}\n`)
    return EXIT_CANNOT_RUN
  }
}

process.exitCode = await main(process.argv.slice(2))
