/**
 * The worker-thread side of src/cli/off-thread.ts: runs `verify`, `show` or `report` and prints
 * straight to the process's standard output and error (fd-writer.ts), then tells the
 * main thread the exit status, or the error, as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { AuditChainError } from '../errors.js'
import { fdWriter } from './fd-writer.js'
import { runHere, type CommandOutcome, type ThreadCommand } from './off-thread.js'
import { UsageError } from './usage-error.js'

const task = workerData as ThreadCommand
const { stdoutIsTTY, stderrIsTTY } = task
const port = parentPort as NonNullable<typeof parentPort>
const tell = (outcome: CommandOutcome): void => { port.postMessage(outcome) }

const io = { stdout: fdWriter(1, stdoutIsTTY), stderr: fdWriter(2, stderrIsTTY) }
for (const stream of [io.stdout, io.stderr]) {
  // `show … | head` closed the pipe: the main thread ends the process as it would have.
  stream.on('error', (err: NodeJS.ErrnoException) => {
    tell(err.code === 'EPIPE' ? { kind: 'broken-pipe' } : { kind: 'internal', message: err.message })
    process.exit()
  })
}

try {
  tell({ kind: 'done', status: await runHere(task, io) })
} catch (err) {
  if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') tell({ kind: 'broken-pipe' })
  else if (err instanceof UsageError) tell({ kind: 'usage', message: err.message })
  else if (err instanceof AuditChainError) tell({ kind: 'audit', code: err.code, message: err.message.slice(err.code.length + 2) })
  else tell({ kind: 'internal', message: (err as Error)?.message ?? String(err) })
}
