#!/usr/bin/env node
/**
 * The `audit-chain` command: its commands and options, declared with commander.
 * Each command's work is in its own module; this file only declares and dispatches.
 * Exit codes: 0 intact (or done; --help, --version), 1 problems found, 2 could not
 * run (a usage error included). The full reference is docs/cli.md.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { AuditChainError } from '../errors.js'
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_REORDER_WINDOW, printable } from '../verify/index.js'
import { runEpochs } from './epochs.js'
import { runHead } from './head.js'
import { runInit } from './init.js'
import { runKeygen } from './keygen.js'
import { runReading } from './off-thread.js'
import type { ShowCliOptions } from './show.js'
import { DEFAULT_MAX_RECORDS, type ReportCliOptions } from './report.js'
import { UsageError } from './usage-error.js'
import type { VerifyCliOptions } from './verify.js'

const EXIT_CANNOT_RUN = 2
const EXIT_BROKEN_PIPE = 128 + 13

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/** A repeatable option: each occurrence adds its value. */
const many = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

/** The trust options verify, show and head share. */
function trustOptions (command: Command): Command {
  return command
    .option('-k, --key <PUB>', 'public key (SPKI PEM) records may be signed with; repeat for rotated keys', many)
    .option('--master <PUB>', 'epoch keys: a master public key (from "keygen --master"); only the certificates it signed are trusted; repeatable', many)
    .option('--certs <FILE>', 'epoch keys: a certificate file (from "epochs"); needs --master; repeatable', many)
}

/** What show and report share besides trust: anchors, threads and the record filter. */
function readBackOptions (command: Command): Command {
  return command
    .option('--head <FILE>', 'a head file the log must still reach, as for verify; repeatable', many)
    .option('-r, --recursive', 'read the subdirectories of a directory too, as for verify')
    .option('--threads <N>', 'threads that check signatures, as for verify')
    .option('--reorder-window <N>', `a merged stream of pipeline chains: records a record may arrive late by, as for verify (default ${DEFAULT_REORDER_WINDOW})`)
    .option('--event <TYPE>', 'only records with this event; repeatable', many)
    .option('--since <TIME>', 'only records at or after TIME: ISO 8601, or a duration back from now (2h, 7d)')
    .option('--until <TIME>', 'only records before TIME (same forms)')
    .option('--level <LEVEL>', 'only records at this pino level or above (info, warn, 40...)')
    .option('--where <F=V>', 'only records whose field F (a dotted path: result.exitCode) is V; repeatable', many)
    .option('--all', 'control records too (chain.*, file.open, retention.prune, epoch.close)')
}

const SYNOPSIS = `
Commands in short:
  audit-chain init [DIR]
  audit-chain keygen --out DIR [--name NAME] [--master]
  audit-chain verify PATH... --key PUB [options]
  audit-chain verify PATH... --master PUB --certs FILE [options]
  audit-chain show PATH... --key PUB [--event TYPE] [--since T] [--format pretty|json|csv] [options]
  audit-chain report PATH... --key PUB --out FILE [filters] [options]
  audit-chain head PATH [--key PUB] [--json]
  audit-chain epochs --master MASTER.key --start TIME --interval DUR --count N --out DIR

"audit-chain help COMMAND" or "audit-chain COMMAND --help" shows a command's options.
Exit status: 0 intact (or done), 1 problems found, 2 could not run (a usage error,
an unreadable file or key). Reference: docs/cli.md in the package.
`

/** The exit status of a command that reads logs; a closed standard output ends the process as below. */
function ended (status: number | 'broken-pipe'): number {
  if (status === 'broken-pipe') process.exit(EXIT_BROKEN_PIPE)
  return status
}

/** The exit status the command's module returned (commander's actions return nothing). */
let exitStatus = 0

const program = new Command('audit-chain')
  .description('Tamper-evident audit logs for pino: set up an app, create keys, verify and read signed logs.')
  .version(version, '-V, --version', 'print the version of pino-audit-chain')
  .helpOption('-h, --help', 'print help')
  .helpCommand('help [COMMAND]', 'print the help of a command')
  .addHelpText('after', SYNOPSIS)
  .showSuggestionAfterError(true)
  // Usage errors exit 2, not commander's 1 (which means "problems found" here).
  .exitOverride()

program.command('init')
  .description('Set up an app: a copy of the shipped policy (DIR/config/audit.yaml), a key pair (DIR/keys), and the code to paste. Never overwrites.')
  .argument('[DIR]', 'the app\'s directory (default: the current directory)')
  .action((dir: string | undefined) => { exitStatus = runInit(dir) })

program.command('keygen')
  .description('Create an Ed25519 key pair: DIR/NAME.key (private, mode 0600, for the transport) and DIR/NAME.pub (public, for auditors). Never overwrites.')
  .option('-o, --out <DIR>', 'directory to write to (created with mode 0700 if needed)')
  .option('--name <NAME>', 'file name stem (default audit-ed25519, or audit-master with --master)')
  .option('--master', 'a master key pair, to certify epoch keys (see "epochs"): keep its private half offline, never on the log host')
  .action((options) => { exitStatus = runKeygen(options) })

trustOptions(program.command('verify')
  .description('Check audit logs written by pino-audit-chain: every record\'s hash, signature and link, and that none is missing.')
  .usage('PATH... --key PUB [options]')
  .argument('[PATH...]', 'a log file, a directory (every log file in it, grouped into chains and read in seq order; its *.head.json files are used as heads), or - for standard input'))
  .option('--head <FILE>', 'a head file (copied off the host) the log must still reach; repeatable; a file of several heads, one per line, checks each', many)
  .option('--state <FILE>', 'remember each chain\'s last verified record in FILE (created if missing); next time, a log that no longer reaches it unchanged is a problem (rollback)')
  .option('--require-seal', 'a chain that is neither sealed nor covered by a head is a problem, not a warning')
  .option('-r, --recursive', 'read the subdirectories of a directory too (createAuditLogger writes to logs/audit)')
  .option('--threads <N>', 'threads that check signatures, 1-64 (default: cores, up to 4; 1: no extra threads)')
  .option('--reorder-window <N>', `a merged stream (one input holding interleaved pipeline chains, as a collector writes it): a record may arrive up to N records late and is put back in place; a byte-identical copy within N records is a redelivered warning (default ${DEFAULT_REORDER_WINDOW})`)
  .option('--max-line-bytes <N>', `skip lines longer than N bytes as line-too-long (default ${DEFAULT_MAX_LINE_BYTES}, 64 MiB: the writer never signs a longer line); N bounds memory`)
  .option('--excerpt', 'check each line alone (hash, signature, key window), not links or completeness: for a selection of records such as "show --format json" writes')
  .option('--json', 'print one JSON report on stdout and nothing else')
  .option('-q, --quiet', 'print only the final verdict line')
  .option('--progress', 'show progress on stderr (records/s, time left) even when it is not a terminal')
  .option('--no-progress', 'never show progress (default: shown on a terminal, unless --json or --quiet)')
  .addHelpText('after', `
Output: findings, problems first, then warnings, each in reading order, as
  FILE:LINE seq N  KIND — MESSAGE
and lines of one file failing alike in a row as one finding,
  FILE:FIRST–LAST seqs A–B  KIND — COUNT lines/records ...
then one line per chain, and the verdict (INTACT or PROBLEMS FOUND).
Exit status: 0 intact, 1 problems found, 2 could not run.`)
  .action(async (paths: string[], options: VerifyCliOptions) => { exitStatus = ended(await runReading({ command: 'verify', paths, options })) })

readBackOptions(trustOptions(program.command('show')
  .description('Print the records of audit logs that the verifier vouches for, filtered. Findings and the verdict go to stderr.')
  .usage('PATH... --key PUB [options]')
  .argument('[PATH...]', 'as for verify: log files, directories, or - for standard input')))
  .option('--include-unverified', 'print unlinked and invalid records too (marked in pretty and csv output)')
  .addOption(new Option('--format <FMT>', 'pretty (default on a terminal, through pino-pretty), json (default otherwise: each record\'s stored line, byte for byte; check such an excerpt with "verify FILE --excerpt"), or csv').choices(['pretty', 'json', 'csv']))
  .option('--fields <A,B.C>', 'csv columns, dotted paths (default time,level,event,msg)')
  .addHelpText('after', `
Only intact records are printed (hash, signature, key window and every link back to
the chain's start check), unless --include-unverified.
Exit status as verify: 0 intact, 1 problems found, 2 could not run.`)
  .action(async (paths: string[], options: ShowCliOptions) => { exitStatus = ended(await runReading({ command: 'show', paths, options })) })

readBackOptions(trustOptions(program.command('report')
  .description('Write one self-contained HTML page for auditors: the verdict, the keys and anchors used, one row per chain, a timeline with alerts and findings marked, the findings, and the records (filter, sort, full JSON on click; records not intact are marked). It opens offline in any browser; nothing in the log can run in it.')
  .usage('PATH... --key PUB --out FILE [options]')
  .argument('[PATH...]', 'as for verify: log files, directories, or - for standard input')))
  .option('-o, --out <FILE>', 'the page to write (required; replaced if it exists)')
  .option('--state <FILE>', 'the verifier state file, as for verify')
  .option('--require-seal', 'an unsealed chain is a problem, as for verify')
  .option('--max-records <N>', `records carried in full, at most (default ${DEFAULT_MAX_RECORDS}): every alert, warning, error and record not intact (and those around it) first, then an even sample of the rest; counts and the timeline cover every record`)
  .addHelpText('after', `
The verdict goes to stderr, "report written to FILE" to stdout.
Exit status as verify: 0 intact, 1 problems found, 2 could not run.`)
  .action(async (paths: string[], options: ReportCliOptions) => { exitStatus = ended(await runReading({ command: 'report', paths, options })) })

trustOptions(program.command('head')
  .description('Print the signed head of a log, byte for byte, one line per head file, to ship it off the host (e.g. from cron: audit-chain head LOG >> /offhost/heads.jsonl).')
  .argument('[PATH]', 'a head file, a log file (its PATH.head.json) or a directory (its *.head.json)'))
  .option('--json', 'print one JSON report (file, head, signature) instead of the head lines')
  .addHelpText('after', `
With --key (or --master and --certs) the head's signature is checked first, and a
head that fails is not printed.
Exit status: 0 printed, 1 a head is not valid, 2 could not run (no head file, unreadable key).`)
  .action((path: string | undefined, options) => { exitStatus = runHead(path, options) })

program.command('epochs')
  .description('Forward security: one key pair per epoch (e.g. a day), certified by a master key. Writes DIR/epoch-keys.json (mode 0600, the transport\'s epochKeysPath) and DIR/epoch-keys.certs (for auditors: verify --master --certs).')
  .option('--master <FILE>', 'the master private key (from "keygen --master")')
  .option('--start <TIME>', 'start of the first epoch, ISO 8601 with a time zone (2026-12-01T00:00:00Z)')
  .option('--interval <DUR>', 'length of each epoch: 1d, 6h, 30m... (at least 1s)')
  .option('--count <N>', 'number of epochs, 1-100000')
  .option('-o, --out <DIR>', 'directory to write to; never overwrites')
  .option('--name <NAME>', 'file name stem of the bundle and the certificates (default epoch-keys)')
  .action((options) => { exitStatus = runEpochs(options) })

/** The command being run, for the hint after a usage error. */
let running: string | undefined
program.hook('preAction', (_program, command) => { running = command.name() })

/** One line on stderr, and where to read more. Paths in messages are untrusted text: escaped. */
function usageLine (message: string, command: string | undefined): string {
  const help = command === undefined ? 'audit-chain --help' : `audit-chain ${command} --help`
  return `audit-chain: ${printable(message.replace(/^error: /, '').replace(/\n+/g, ' ').trim())} (see "${help}")\n`
}

// commander's own errors (unknown option, missing value...): one line, naming the
// command's help. Set on each command, which knows its name.
for (const command of [program, ...program.commands]) {
  const name = command === program ? undefined : command.name()
  command.configureOutput({ outputError: (text, write) => { write(usageLine(text, name)) } })
}

async function main (argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' })
    return exitStatus
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 (printed on stdout); help shown for no command, and
      // every usage error, exit 2.
      return err.exitCode === 0 ? 0 : EXIT_CANNOT_RUN
    }
    if (err instanceof UsageError) {
      process.stderr.write(usageLine(err.message, running))
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

// `audit-chain show … | head` closes our stdout early: end quietly, as a Unix tool
// killed by SIGPIPE would (status 141), instead of an EPIPE stack trace. The output
// was cut by the reader, so no verdict is claimed.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE)
  throw err
})

process.exitCode = await main(process.argv.slice(2))
