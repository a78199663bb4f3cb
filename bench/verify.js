// Verify one log file with the project's verifier (dist/verify/index.js), in a child of
// bench/run.js so that its peak RSS is its own. Prints one JSON line:
//   { ms, records, ok, problems, maxRssKB, threads } or { pending: 'why' } when there is no verifier yet.
//   node bench/verify.js LOG PUB [THREADS]   (default: the verifier's own default)
const [file, pub, threadsArg] = process.argv.slice(2)
const threads = threadsArg === undefined ? undefined : Number(threadsArg)
let verify
try {
  ({ verify } = await import('../dist/verify/index.js'))
} catch (err) {
  console.log(JSON.stringify({ pending: `dist/verify/index.js cannot be loaded (${err.code ?? err.message})` }))
  process.exit(0)
}
if (typeof verify !== 'function') {
  console.log(JSON.stringify({ pending: 'dist/verify/index.js has no verify() export yet' }))
  process.exit(0)
}
const start = performance.now()
const report = await verify([file], { keys: [pub], ...(threads === undefined ? {} : { threads }) })
const ms = performance.now() - start
console.log(JSON.stringify({
  ms: Math.round(ms),
  records: report.records,
  ok: report.ok,
  problems: (report.problems ?? []).slice(0, 3),
  maxRssKB: process.resourceUsage().maxRSS,
  threads: threads ?? 'default'
}))
