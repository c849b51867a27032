/** `fleetkit destroy`: see unit-command.ts for the options shared by load, start, stop, unload and destroy. */
import { unitCommand } from './unit-command.js';

/** Runs `fleetkit destroy`. */
export const run = unitCommand('destroy');
