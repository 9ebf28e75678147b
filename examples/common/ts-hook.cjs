// Lets Node require the examples' .ts files (compiled with TypeScript's transpileModule, types
// erased, not checked), for examples/run.cjs and for the worker threads of `--threads N`
// (passed to them as `--require`).
//
// Each .ts file is compiled when it is first required. What is compiled is kept in
// node_modules/.cache/asynchat-examples (by a hash of the source), which makes later starts
// quicker by most of a second.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const tsVersion = require('typescript/package.json').version;
const cacheDir = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'asynchat-examples');
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
