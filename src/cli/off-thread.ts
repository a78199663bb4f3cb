/**
 * `verify`, `show` and `report` run in a worker thread whose young generation is capped,
 * so that reading a gigabyte of log fits in less memory than the main thread can
 * (issues 15 and 17: under 150 MB; issue 16: a collector's stream of 1,000 chains). Reading back allocates some 10 KB of short-lived strings,
 * objects and buffers per record; on the main thread V8 lets its young generation grow
 * to 2 × 16 MiB semi-spaces for that, and the buffers those objects hold wait for it
 * to fill. `--max-semi-space-size` would do the same but is read only when node
 * starts; a thread's resourceLimits are set when it starts (bench/README.md "Memory").
 *
 * The thread prints straight to the process's standard output and error: nothing
 * printed passes through this thread. Standard input (`-`) is read here as before,
 * since it would have to pass through this thread anyway.
 */
import { Worker } from 'node:worker_threads'
import { AuditChainError, type AuditChainErrorCode } from '../errors.js'
import { UsageError } from './usage-error.js'
import { runReport, type ReportCliOptions } from './report.js'
import { runShow, type CommandIo, type ShowCliOptions } from './show.js'
import { runVerify, type VerifyCliOptions } from './verify.js'

/** A command that reads logs (structured-cloned to the thread: commander's options are plain data). */
export type ReadingCommand =
  | { command: 'show', paths: string[], options: ShowCliOptions }
  | { command: 'report', paths: string[], options: ReportCliOptions }
  | { command: 'verify', paths: string[], options: VerifyCliOptions }

/** What the thread is told to run: the command, and whether the process's stdout and stderr are terminals (a thread cannot tell). */
export type ThreadCommand = ReadingCommand & { stdoutIsTTY: boolean, stderrIsTTY: boolean }

/** Run `task` in this thread, printing to `io`; resolves with its exit status. */
export async function runHere (task: ReadingCommand, io: CommandIo = process): Promise<number> {
  switch (task.command) {
    case 'verify': return await runVerify(task.paths, task.options, io)
    case 'show': return (await runShow(task.paths, task.options, io)) ? 0 : 1
    case 'report': return (await runReport(task.paths, task.options, io)) ? 0 : 1
  }
}

/**
 * Run `task` in the command thread, or in this one when it reads standard input
 * (which would have to pass through this thread anyway). Resolves as runOffThread.
 */
export async function runReading (task: ReadingCommand): Promise<number | 'broken-pipe'> {
  if (task.paths.includes('-')) return await runHere(task)
  return await runOffThread({ ...task, stdoutIsTTY: process.stdout.isTTY === true, stderrIsTTY: process.stderr.isTTY === true })
}

/** How the command ended, as the thread tells it. */
export type CommandOutcome =
  | { kind: 'done', status: number }
  | { kind: 'broken-pipe' }
  | { kind: 'usage', message: string }
  | { kind: 'audit', code: AuditChainErrorCode, message: string }
  | { kind: 'internal', message: string }

/**
 * The thread's heap limits. Young generation 6 MB: V8 makes that 2 MiB semi-spaces
 * (the main thread's grow to 16 MiB); 1 MiB ones took ~5 MB less but spent a quarter
 * more time in the garbage collector. Old generation 1024 MB: not for the limit itself
 * (the live set is ~15 MB, and a line at the 64 MiB limit peaks under 450 MB) but
 * because V8 lets the old generation grow past what is alive by a factor it picks
 * from the limit: ×4 at 2 GB and more (node's default here), ×1.6 at 1 GB. Records in
 * flight outlive a small young generation and are promoted, so the old generation is
 * mostly garbage waiting for that threshold (report: −35 MB; bench/README.md "Memory").
 */
export const COMMAND_THREAD_LIMITS = { maxYoungGenerationSizeMb: 6, maxOldGenerationSizeMb: 1024 }

/**
 * `verify` keeps no record once it is checked, and most of its time is the signatures
 * (in the pool's threads), so a young generation of 3 MB (1 MiB semi-spaces) costs it
 * no measurable time: a collector's stream of 1,000 chains × 1,000 records peaked at
 * 147 MB with it, 151 MB with 6 MB (bench/README.md "Merged streams").
 */
const VERIFY_THREAD_LIMITS = { ...COMMAND_THREAD_LIMITS, maxYoungGenerationSizeMb: 3 }

/**
 * Run `verify`, `show` or `report` in a worker thread; resolves with the exit status, throws the
 * UsageError or AuditChainError the command threw there, and returns `broken-pipe` when
 * the reader of standard output went away (the caller ends as SIGPIPE would).
 */
export async function runOffThread (task: ThreadCommand): Promise<number | 'broken-pipe'> {
  const resourceLimits = task.command === 'verify' ? VERIFY_THREAD_LIMITS : COMMAND_THREAD_LIMITS
  const worker = new Worker(new URL('./command-thread.js', import.meta.url), { workerData: task, resourceLimits })
  let outcome: CommandOutcome | undefined
  worker.on('message', (m: CommandOutcome) => { outcome ??= m })
  const failure = await new Promise<Error | undefined>((resolve) => {
    worker.once('error', (err) => { resolve(err) })
    worker.once('exit', () => { resolve(undefined) })
  })
  if (outcome === undefined) {
    if ((failure as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      throw new AuditChainError('PAC_VERIFY_FAILED', `${task.command} ran out of memory: the thread that reads the log may use ${resourceLimits.maxOldGenerationSizeMb} MB of heap, and lines up to the 64 MiB limit need less than half of it; the log was not read to the end`)
    }
    throw new Error(`the ${task.command} thread failed (${failure?.message ?? 'it ended without saying how'})`)
  }
  switch (outcome.kind) {
    case 'done': return outcome.status
    case 'broken-pipe': return 'broken-pipe'
    case 'usage': throw new UsageError(outcome.message)
    case 'audit': throw new AuditChainError(outcome.code, outcome.message)
    case 'internal': throw new Error(outcome.message)
  }
}
