// Raw single-thread Ed25519 rates on this machine: the floors every other row is
// compared with. Child of bench/run.js; prints one JSON line.
//   node bench/crypto.js [SIGN_N] [VERIFY_N] [node|sodium]
// Messages are 32 bytes, like H (FORMAT.md §2). `node`: one-shot sign/verify with a
// KeyObject (the fallback's calls); `sodium`: crypto_sign_detached and
// crypto_sign_verify_detached of sodium-native with the key in sodium_malloc'd memory
// (the calls the signing and verify threads make on libsodium). Bare library calls,
// without the strict rule's byte checks (FORMAT.md §2.1), which cost well under 1 µs.
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto'
import { createRequire } from 'node:module'

const SIGN_N = Number(process.argv[2] ?? 20_000)
const VERIFY_N = Number(process.argv[3] ?? 8_000)
const BACKEND = process.argv[4] ?? 'node'
const messages = Array.from({ length: SIGN_N }, (_, i) => createHash('sha256').update(String(i)).digest())

let signOne
let verifyOne
if (BACKEND === 'sodium') {
  const sodium = createRequire(import.meta.url)('sodium-native')
  const pk = Buffer.alloc(32)
  const sk = sodium.sodium_malloc(64)
  sodium.crypto_sign_keypair(pk, sk)
  signOne = (m) => { const sig = Buffer.alloc(64); sodium.crypto_sign_detached(sig, m, sk); return sig }
  verifyOne = (m, sig) => sodium.crypto_sign_verify_detached(sig, m, pk)
} else {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  signOne = (m) => sign(null, m, privateKey)
  verifyOne = (m, sig) => verify(null, m, publicKey, sig)
}

// Warm up (JIT, the library's first use), then time.
for (let i = 0; i < 500; i++) verifyOne(messages[i], signOne(messages[i]))

let start = performance.now()
const signatures = new Array(SIGN_N)
for (let i = 0; i < SIGN_N; i++) signatures[i] = signOne(messages[i])
const signMs = performance.now() - start

start = performance.now()
let good = 0
for (let i = 0; i < VERIFY_N; i++) if (verifyOne(messages[i], signatures[i])) good++
const verifyMs = performance.now() - start
if (good !== VERIFY_N) throw new Error('a signature did not verify')

console.log(JSON.stringify({ signPerSec: SIGN_N / signMs * 1000, verifyPerSec: VERIFY_N / verifyMs * 1000 }))
