/**
 * `docker run` words for a target whose Docker predates some of the flags fleetkit adds on its own. Only
 * flags whose absence leaves the container doing the same are dropped; any other flag the target lacks stays
 * and is reported by the render's check (check-unit.ts). Pure.
 */
import { flagRow } from './feature-table.js';
import { dockerHas, type Target } from './targets.js';

/**
 * Flags fleetkit adds that a target may go without:
 * - `--pull=missing` is what docker does without it (Docker 20.10 only spelled it out).
 * (`--init` is written only when the file asks for it with `init: true`, so a target without it is reported.)
 */
const DROPPABLE = new Set(['--pull=missing']);

/** `args` (the words after the docker binary, `run` first) without the droppable flags `target` lacks. */
export function runArgsFor(target: Target, args: readonly string[]): string[] {
  const image = firstOperand(args);
  return args.filter((word, i) => {
    if (i >= image || !DROPPABLE.has(word)) return true;
    const row = flagRow('run', word.split('=')[0]!);
    return row === undefined || dockerHas(target.docker, row.since);
  });
}

/** Index of the image: the first word after `run` that is neither a flag nor a flag's value. */
function firstOperand(args: readonly string[]): number {
  let i = 1;
  while (i < args.length && args[i]!.startsWith('-')) {
    const word = args[i]!;
    const row = flagRow('run', word.split('=')[0]!);
    i += row?.value && !word.includes('=') ? 2 : 1;
  }
  return i;
}
