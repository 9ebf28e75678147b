// Compiles examples/ into dist/examples/, so that the package ships them runnable with plain Node
// (`node node_modules/asynchat/dist/examples/resp/main.js --port 6380`): an installed user has
// neither the TypeScript sources of the library nor, necessarily, TypeScript.
//
// In the repository the examples import the library from '../../src' and run from their .ts
// files (examples/run.cjs), so the tests and the command lines run the same code. Here each file
// is transpiled (types erased; `npx tsc -p tsconfig.check.json` checks them) and that one import
// is pointed at the package's CommonJS build. The output keeps the comments and the layout, and
// has no source maps: the package also ships the .ts sources to read (examples/**/*.ts), and
// maps carrying them would triple what this adds to the tarball (27 kB packed; 108 kB with them).
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(import.meta.url)('typescript');
const from = path.join(root, 'examples');
const to = path.join(root, 'dist', 'examples');
const LIBRARY = /require\("\.\.\/\.\.\/src(?:\/index)?"\)/g;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? walk(file) : [file];
  });
}

for (const file of walk(from)) {
  const rel = path.relative(from, file);
  const out = path.join(to, rel);
  mkdirSync(path.dirname(out), { recursive: true });
  if (rel === 'run.cjs' || rel === path.join('common', 'ts-hook.cjs')) continue;
  if (!file.endsWith('.ts')) {
    copyFileSync(file, out);  // the http example's public/ folder
    continue;
  }
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: rel,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,
    },
  });
  const depth = path.relative(path.dirname(out), path.join(root, 'dist', 'cjs', 'index.js')).split(path.sep).join('/');
  const js = outputText.replace(LIBRARY, `require("${depth}")`);
  if (/require\("(\.\.\/)+src\b/.test(js)) {
    throw new Error(`${rel} imports the library by a path this script does not rewrite (use '../../src')`);
  }
  writeFileSync(out.replace(/\.ts$/, '.js'), js);
}

// `--threads N` starts each thread with `--require common/ts-hook.cjs`, which lets Node load the
// .ts sources; compiled, there is nothing to hook.
writeFileSync(path.join(to, 'common', 'ts-hook.cjs'),
  '// The examples here are compiled JavaScript: nothing to hook (see scripts/build-examples.mjs).\n');
writeFileSync(path.join(to, 'package.json'), '{ "type": "commonjs" }\n');
