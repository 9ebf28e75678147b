// Type-checked in a consumer project (node16 resolution): the CommonJS entry's types resolve.
import asynchat = require('asynchat');

const backends: string[] = asynchat.backends();
export = backends;
