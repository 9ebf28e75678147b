#!/usr/bin/env node
// Runs an example's command line with plain Node, straight from the TypeScript sources:
//
//   node examples/run.cjs <name> [options]      (what `npm run example:<name> -- [options]` does)
//
// Each .ts file is compiled when it is first required (examples/common/ts-hook.cjs; types are
// erased, not checked: `npx tsc -p tsconfig.check.json` checks them). The examples import the
// library from '../../src/index', so the code that runs here is the code the tests run; nothing
// has to be built first but the addon (`npm install` builds it).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

require('./common/ts-hook.cjs');

const names = fs.readdirSync(__dirname).filter((n) => fs.existsSync(path.join(__dirname, n, 'main.ts')));
const name = process.argv[2];
if (!names.includes(name)) {
  process.stderr.write(`usage: node examples/run.cjs <${names.join('|')}> [options]\n`);
  process.exit(2);
}
process.argv.splice(2, 1);  // the example sees only its own options
require(path.join(__dirname, name, 'main.ts'));
