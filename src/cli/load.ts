/** `fleetkit load`: see unit-command.ts for the options shared by load, start, stop, unload and destroy. */
import { unitCommand } from './unit-command.js';

/** Runs `fleetkit load`. */
export const run = unitCommand('load');
