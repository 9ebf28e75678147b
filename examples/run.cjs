#!/usr/bin/env node
// Runs an example's command line with plain Node, straight from the TypeScript sources:
//
//   node examples/run.cjs <name> [options]      (what `npm run example:<name> -- [options]` does)
//
// Each .ts file is compiled when it is first required, with TypeScript's transpileModule (types
// are erased, not checked: `npx tsc -p tsconfig.check.json` checks them). The examples import the
// library from '../../src/index', so the code that runs here is the code the tests run; nothing
// has to be built first but the addon (`npm install` builds it). What is compiled is kept in
// node_modules/.cache/asynchat-examples (by a hash of the source), which makes later starts
// quicker by most of a second.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const tsVersion = require('typescript/package.json').version;
const cacheDir = path.join(__dirname, '..', 'node_modules', '.cache', 'asynchat-examples');
let ts;  // loaded only when something is not in the cache

function compile(source, filename) {
  ts ??= require('typescript');
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    inlineSourceMap: true,
  };
  return ts.transpileModule(source, { fileName: filename, compilerOptions }).outputText;
}

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(`${tsVersion}\0${filename}\0${source}`).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let js;
  try {
    js = fs.readFileSync(cached, 'utf8');
  } catch {
    js = compile(source, filename);
    try {
      // Written aside, then renamed: processes starting together never read half a file.
      fs.mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, js);
      fs.renameSync(tmp, cached);
    } catch {
      // no cache then (a read-only checkout): compiled again next time
    }
  }
  module._compile(js, filename);
};
process.setSourceMapsEnabled(true);

const names = fs.readdirSync(__dirname).filter((n) => fs.existsSync(path.join(__dirname, n, 'main.ts')));
const name = process.argv[2];
if (!names.includes(name)) {
  process.stderr.write(`usage: node examples/run.cjs <${names.join('|')}> [options]\n`);
  process.exit(2);
}
process.argv.splice(2, 1);  // the example sees only its own options
require(path.join(__dirname, name, 'main.ts'));
