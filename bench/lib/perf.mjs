// Reads a `perf record -g` of a Node process started with --perf-basic-prof, and sums the samples
// (CPU time, kernel included) two ways: by where the CPU was (kernel, V8 builtins and runtime,
// JIT-compiled JavaScript, libc, the addon), and by the innermost JavaScript function on the
// stack, so that a syscall, a builtin or a GC triggered by a function counts for that function.
// OpenSSL is linked into the node binary: its functions are told from V8's by their names, and
// `onStack` gives the share of samples with OpenSSL (or the addon) anywhere on the stack.
import { spawnSync } from 'node:child_process';

// OpenSSL's functions (libssl, libcrypto and the assembly kernels), by name.
const OPENSSL = new RegExp(
  '^[0-9a-f]*\\s*(SSL_|ssl[0-9]?_|tls[0-9_]|tls_|ossl_|OSSL_|EVP_|evp_|CRYPTO_|OPENSSL_|BIO_|bio_|ERR_|RAND_|rand_|' +
  'aes|AES_|gcm_|GCM_|aesni_|_aesni|x86_64_|ChaCha|chacha|Poly1305|poly1305|sha[0-9]+_|SHA[0-9]+|HMAC|hmac_|EC_|ec_|ecp_|' +
  'BN_|bn_|OBJ_|ASN1_|asn1_|X509|x509|PACKET_|WPACKET_|CONF_|OBJ_|int_ctx|ct_|dtls|lh_|OPENSSL_sk|sk_|err_|ENGINE_|engine_|' +
  'md_|cipher_|ssl_|aead_|kdf_|KDF_|EVP)');

const isOpenSsl = (frame) => !frame.includes('[kernel') && !frame.includes('JS:') && OPENSSL.test(frame);

function category(frame) {
  if (frame.includes('[kernel')) return 'kernel';
  if (frame.includes('JS:')) return 'JavaScript (JIT)';
  if (frame.includes('asynchat.node')) return 'addon';
  if (/\blibc[.-]/.test(frame)) return 'libc';
  if (/libssl|libcrypto/.test(frame) || isOpenSsl(frame)) return 'OpenSSL';
  if (/\(\/usr\/(local\/)?bin\/node\)|\/node\)$/.test(frame)) return 'node and V8 (builtins, runtime, GC)';
  return 'other';
}

const clean = (frame, root) => frame
  .replace(/^[0-9a-f]+\s+/, '')
  .replace(/\s+\([^()]*\)$/, '')
  .replace(/^JS:[*^~]?/, '')
  .replaceAll(`file://${root}`, '')
  .replaceAll(root, '');

export function perfAvailable() {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function summarizePerf(dataFile, { root = '', top = 20 } = {}) {
  const r = spawnSync('perf', ['script', '-i', dataFile, '-F', 'ip,sym,dso'], {
    encoding: 'utf8', maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const categories = new Map();
  const byJs = new Map();
  const leaves = new Map();
  const onStack = { OpenSSL: 0, addon: 0, 'kernel (syscalls)': 0 };
  let total = 0;
  for (const block of r.stdout.split('\n\n')) {
    const frames = block.split('\n').map((l) => l.trim()).filter(Boolean);
    if (frames.length === 0) continue;
    total++;
    const cat = category(frames[0]);
    categories.set(cat, (categories.get(cat) ?? 0) + 1);
    const leaf = clean(frames[0], root);
    leaves.set(leaf, (leaves.get(leaf) ?? 0) + 1);
    const js = frames.find((f) => f.includes('JS:'));
    const owner = js ? clean(js, root) : `(no JavaScript on the stack: ${cat})`;
    byJs.set(owner, (byJs.get(owner) ?? 0) + 1);
    if (frames.some(isOpenSsl)) onStack.OpenSSL++;
    if (frames.some((f) => f.includes('asynchat.node'))) onStack.addon++;
    if (cat === 'kernel') onStack['kernel (syscalls)']++;
  }
  const rank = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, c]) => ({ name, share: c / total }));
  return {
    samples: total, categories: rank(categories, 10), byJs: rank(byJs, top), leaves: rank(leaves, top),
    onStack: Object.entries(onStack).map(([name, c]) => ({ name, share: c / total })),
  };
}
