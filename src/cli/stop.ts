/** `fleetkit stop`: see unit-command.ts for the options shared by load, start, stop, unload and destroy. */
import { unitCommand } from './unit-command.js';

/** Runs `fleetkit stop`. */
export const run = unitCommand('stop');
