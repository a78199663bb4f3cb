// Summarise the .cpuprofile files that `node --cpu-prof --cpu-prof-dir=DIR` wrote: per
// thread, the top self-time functions and the time by stage of the record path, in
// µs per record when the record count is given. Used for bench/README.md "Profile".
//
//   node bench/profile-summary.js DIR [records=100000] [top=12]
//
// Stages are recognised by function name and source file (first match wins). They are
// an attribution of self time, not of inclusive time: a stage's own code, not what it calls.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'

const dir = process.argv[2]
const records = Number(process.argv[3] ?? 100_000)
const top = Number(process.argv[4] ?? 12)
if (dir === undefined) {
  console.error('usage: node bench/profile-summary.js DIR [records] [top]')
  process.exit(2)
}

const STAGES = [
  ['idle', (f) => f.name === '(idle)'],
  ['GC', (f) => f.name === '(garbage collector)'],
  ['sign (Ed25519)', (f) => /crypto_sign_detached|^sign$|signOneShot|signBytes/.test(f.name) && !/verify/.test(f.name)],
  ['verify (Ed25519)', (f) => /crypto_sign_verify_detached|^verify$|verifyOneShot|verifyBytes/.test(f.name)],
  ['hash (SHA-256)', (f) => /^hash$|recordHash|digest|update|Hash/.test(f.name)],
  ['hex/base64url encoding', (f) => /^(hexWrite|base64urlSlice|base64urlWrite|hexSlice)$/.test(f.name)],
  ['message passing', (f) => /postMessage|onmessage|emitMessage|MessagePort|drainMessagePort|structuredClone|receiveMessageOnPort/.test(f.name) || /worker_threads|internal\/worker/.test(f.url)],
  ['pino serialisation', (f) => /\/pino\/|fast-json-stringify|sonic-boom|quick-format/.test(f.url) && !/thread-stream/.test(f.url)],
  ['thread-stream hand-off', (f) => /thread-stream|atomics|Atomics/.test(f.url + f.name)],
  ['line split', (f) => /split2|pino-abstract-transport|string_decoder|readable|writable|stream/.test(f.url) || /^(split|transform|push)$/.test(f.name)],
  ['parse + body checks (FORMAT.md §3)', (f) => /format\/body|JSON\.parse|^parse$/.test(f.url + ' ' + f.name)],
  ['verify: parse + checks', (f) => /verify\//.test(f.url) || /parseRecordLine|recordHashOfBytes/.test(f.name)],
  ['chain + line building', (f) => /transport\/chain|format\/record|sign-pool|sign-worker|stage\//.test(f.url) || /evalmachine|\[eval\]/.test(f.url)],
  ['write (fs)', (f) => /writeSync|^write$|writev|fsync|writeString|fs\.js|transport\/file/.test(f.name + ' ' + f.url)],
  ['module loading (start)', (f) => /loader|esm\/|modules\/|wrapSafe|compileForInternalLoader|compileSourceTextModule/.test(f.url + ' ' + f.name)],
  ['program / native', (f) => f.name === '(program)' || f.url === ''],
  ['other JS', () => true]
]

function stageOf (f) {
  for (const [name, test] of STAGES) if (test(f)) return name
  return 'other JS'
}

const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()
for (const file of files) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const byFunction = new Map()
  const byStage = new Map()
  let total = 0
  for (const [id, us] of self) {
    const { callFrame: c } = byId.get(id)
    const f = { name: c.functionName || '(anonymous)', url: c.url ?? '' }
    const key = `${f.name} ${f.url ? basename(f.url) + ':' + (c.lineNumber + 1) : ''}`.trim()
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    const stage = stageOf(f)
    byStage.set(stage, (byStage.get(stage) ?? 0) + us)
    total += us
  }
  const thread = file.split('.').at(-3)
  const busy = total - (byStage.get('idle') ?? 0)
  console.log(`\n${file} (thread ${thread}): ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy = ${(busy / records).toFixed(1)} µs/record`)
  console.log('  by stage (self time):')
  for (const [stage, us] of [...byStage].sort((a, b) => b[1] - a[1])) {
    if (stage === 'idle') continue
    console.log(`    ${stage.padEnd(36)} ${(us / 1000).toFixed(0).padStart(6)} ms ${(us / total * 100).toFixed(1).padStart(5)} %  ${(us / records).toFixed(2).padStart(6)} µs/record`)
  }
  console.log(`  top ${top} functions (self time, idle excluded):`)
  for (const [key, us] of [...byFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${(us / total * 100).toFixed(1).padStart(5)} %  ${(us / records).toFixed(2).padStart(6)} µs/rec  ${key}`)
  }
}
