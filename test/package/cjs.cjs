// CommonJS consumer: require('asynchat') and serve a line; prints the result as JSON.
'use strict';
const asynchat = require('asynchat');
const { serveOneLine } = require('./serve-line.cjs');

serveOneLine(asynchat, 'hello from require').then((r) => console.log(JSON.stringify(r)));
