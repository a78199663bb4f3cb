// Verify one log file with the project's verifier (dist/verify/index.js), in a child of
// bench/run.js so that its peak RSS is its own. Prints one JSON line:
//   { ms, cpuMs, records, ok, problems, chains, maxRssKB, threads } or { pending: 'why' } when there is no verifier yet.
//   node bench/verify.js LOG PUB [THREADS] [OPTIONS_JSON]   (default: the verifier's own default;
//   OPTIONS_JSON: more verify() options, e.g. '{"state":"/tmp/s.json"}')
const [file, pub, threadsArg, optionsArg] = process.argv.slice(2)
const threads = threadsArg === undefined || threadsArg === 'default' ? undefined : Number(threadsArg)
const more = optionsArg === undefined ? {} : JSON.parse(optionsArg)
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
const report = await verify([file], { keys: [pub], ...(threads === undefined ? {} : { threads }), ...more })
const ms = performance.now() - start
const usage = process.resourceUsage()
console.log(JSON.stringify({
  ms: Math.round(ms),
  records: report.records,
  ok: report.ok,
  problems: (report.problems ?? []).slice(0, 3),
  chains: report.chains?.length,
  // CPU of every thread of the process (the signature threads too): stable under load, where wall time is not.
  cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
  maxRssKB: usage.maxRSS,
  threads: threads ?? 'default'
}))
