// Placeholder until the command lands: says so plainly instead of failing to import.
import { UsageError } from '../errors.js';
import type { Command } from './io.js';

export const run: Command = async () => {
  throw new UsageError('"status" is not available in this build of fleetkit');
};
