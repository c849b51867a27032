#!/usr/bin/env node
// gen-units: the same as `fleetkit gen`.
'use strict';
require('../dist/fleetkit.cjs').runProcess(['gen', ...process.argv.slice(2)]);
