// Raw single-thread Ed25519 rates of node:crypto on this machine: the floor every
// other row is compared with. Child of bench/run.js; prints one JSON line.
// Messages are 32 bytes, like H (FORMAT.md §2); one-shot sign/verify with a KeyObject,
// exactly the calls the transport and the verifier make.
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto'

const SIGN_N = Number(process.argv[2] ?? 20_000)
const VERIFY_N = Number(process.argv[3] ?? 8_000)
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const messages = Array.from({ length: SIGN_N }, (_, i) => createHash('sha256').update(String(i)).digest())

// Warm up (JIT, OpenSSL's first use), then time.
for (let i = 0; i < 500; i++) verify(null, messages[i], publicKey, sign(null, messages[i], privateKey))

let start = performance.now()
const signatures = new Array(SIGN_N)
for (let i = 0; i < SIGN_N; i++) signatures[i] = sign(null, messages[i], privateKey)
const signMs = performance.now() - start

start = performance.now()
let good = 0
for (let i = 0; i < VERIFY_N; i++) if (verify(null, messages[i], publicKey, signatures[i])) good++
const verifyMs = performance.now() - start
if (good !== VERIFY_N) throw new Error('a signature did not verify')

console.log(JSON.stringify({ signPerSec: SIGN_N / signMs * 1000, verifyPerSec: VERIFY_N / verifyMs * 1000 }))
