/**
 * Container facts for load's and start's health wait: what the agents publish in etcd (read-facts.ts), as
 * the restart count and last exit the wait needs where the host keeps none (fleet). Opened lazily (etcd3 is
 * heavy); a failed read is no facts for the next 5 s, and no facts leave the wait on the host's own view.
 */
import type { Etcd3 } from 'etcd3';
import type { EtcdOptions } from '../etcd/connect.js';
import type { ContainerFacts } from './wait-healthy.js';

/** A facts callback for waitHealthy, and the close of its client. */
export interface FactsSource {
  facts(names: readonly string[]): Promise<ReadonlyMap<string, ContainerFacts>>;
  close(): void;
}

/** Facts of the units under `prefix`, read from the etcd `options` name; each read bounded by `timeoutMs`. */
export function etcdFacts(options: EtcdOptions, prefix: string, timeoutMs: number): FactsSource {
  let client: Promise<Etcd3> | undefined;
  let retryAt = 0;
  return {
    async facts(names) {
      // After a failed read etcd is left alone for a while: every round would otherwise wait out its deadline.
      if (Date.now() < retryAt) return new Map();
      const [{ connectEtcd }, { readContainerFacts }] = await Promise.all([import('../etcd/connect.js'), import('../etcd/read-facts.js')]);
      client ??= connectEtcd({ ...options, callTimeoutMs: timeoutMs });
      const byUnit = await readContainerFacts(await client, prefix, names).catch((e: unknown) => {
        retryAt = Date.now() + 5000;
        throw e;
      });
      const out = new Map<string, ContainerFacts>();
      for (const [unit, records] of byUnit) {
        // One record per machine; a unit runs on one (a global unit on many): the most restarts is the truth
        // about the worst of them, and its last exit goes with it.
        const worst = records.reduce((a, b) => (b.restarts > a.restarts ? b : a));
        out.set(unit, { restarts: worst.restarts, lastExit: worst.lastExit });
      }
      return out;
    },
    close() {
      client?.then((c) => c.close(), () => undefined);
    },
  };
}
