#!/usr/bin/env node
// gen-units: the same as `fleetkit gen`, from its own small bundle (dist/gen-units.cjs: the render path only).
// It loads the bundle with the V8 code cache that `npm run build` made (dist/gen-units.cache), which saves
// compiling yaml, zod and the renderer on every start. The cache carries the SHA-1 of the bundle it was made
// from and is ignored when it does not match (or when V8 rejects it): it can only make start-up faster.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '../dist/gen-units.cjs');
const cacheFile = path.join(__dirname, '../dist/gen-units.cache');
const source = fs.readFileSync(file, 'utf8');
const hash = require('node:crypto').createHash('sha1').update(source).digest('hex');
let cachedData;
try {
  const cache = fs.readFileSync(cacheFile);
  if (cache.subarray(0, 40).toString('latin1') === hash) cachedData = cache.subarray(40);
} catch {
  // no cache: compile as usual
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: file,
  cachedData,
});
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
if (process.env.FLEETKIT_WRITE_CODE_CACHE === '1') {
  // Made after a real run, so the functions that run compiled lazily are in the cache too.
  process.on('exit', () => fs.writeFileSync(cacheFile, Buffer.concat([Buffer.from(hash, 'latin1'), script.createCachedData()])));
}
mod.exports.runGenUnits(process.argv.slice(2));
