/**
 * The last journal lines of a failed unit, for the failure report. journald may lag the failure: systemd's
 * own "Failed with result" line (sent over the native protocol) can be indexed before the service's last
 * stdout lines (a stream), so the journal is read until that line is there, then once more a moment later;
 * never longer than two seconds. Journals of other machines (fleet) are left to `fleetkit logs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { journalTail } from '../journal/journal-tail.js';
import type { JournalRef } from '../unithost/unit-host.js';

export async function failureJournal(ref: JournalRef, env: Readonly<Record<string, string | undefined>>, lines = 10): Promise<string[]> {
  if (ref.machine !== undefined) return [];
  const deadline = Date.now() + 2000;
  const read = (): Promise<string[]> => journalTail(ref.unit, { user: ref.user, dir: ref.dir, lines, env });
  for (;;) {
    const got = await read();
    if (got.some((l) => /Failed with result|Scheduled restart job/.test(l))) {
      await sleep(200);
      return read();
    }
    if (Date.now() > deadline) return got;
    await sleep(100);
  }
}
