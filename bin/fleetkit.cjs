#!/usr/bin/env node
// fleetkit CLI. Runs the single-file build (dist/fleetkit.cjs, made by `npm run build`, which `npm pack` and `npm test` run).
'use strict';
require('../dist/fleetkit.cjs').runProcess(process.argv.slice(2));
