/**
 * "waiting for db": a container unit whose container waits inside it for its dependencies (depends_on across
 * machines, `fleetkit await`) is active with no container. status says what it waits for, never that it is
 * healthy, and stops saying so once the dependency is announced or the container is seen running.
 */
import t from 'tap';
import { buildStatus } from '../../src/ops/build-status.js';
import type { StatusInputs } from '../../src/ops/status-model.js';
import type { ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { parseSpec } from '../../src/cluster/load.js';

const M1 = '1a'.repeat(16);
const NOW = new Date('2026-01-02T03:04:05.000Z');
const spec = parseSpec(`name: shop
etcd: { endpoints: [http://127.0.0.1:2379], prefix: /services }
services:
  db:
    image: postgres
    x-announce: { port: 5432 }
  app:
    image: shop-app
    depends_on: [db]
    x-announce: { port: 8080 }
`, 'shop.yaml');

const record = (ip: string, hostname: string): string => JSON.stringify({ ip, port: 80, hostname, host: 'h', machine: M1, container: hostname, version: 1, time: NOW.toISOString() });
const active = (name: string) => ({ name, machineID: M1, loadState: 'loaded', activeState: 'active', subState: 'running' });
const opt = [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }];
const facts = (unit: string, phase: ContainerFactsRecord['phase']): ContainerFactsRecord => ({ v: 1, unit, machine: M1, phase, restarts: 0, updatedAt: NOW.toISOString() });

function appFlags(o: { dbAnnounced: boolean; appAnnounced?: boolean; appFacts?: ContainerFactsRecord; announcementsError?: string }): string[] {
  const announcements = [
    ...(o.dbAnnounced ? [{ key: '/services/shop/db/1', value: record('10.1.0.2', 'db-1'), lease: '7' }] : []),
    ...(o.appAnnounced ? [{ key: '/services/shop/app/1', value: record('10.1.0.3', 'app-1'), lease: '7' }] : []),
  ];
  const inputs: StatusInputs = {
    source: 'fleet', now: NOW, spec, prefix: '/services', hosts: undefined,
    machines: [{ id: M1, primaryIP: '10.0.0.1', metadata: {} }],
    units: ['db@1.service', 'db-discovery@1.service', 'app@1.service', 'app-discovery@1.service'].map((name) => ({ name, desiredState: 'launched', currentState: 'launched', machineID: M1, options: opt })),
    states: ['db@1.service', 'db-discovery@1.service', 'app@1.service', 'app-discovery@1.service'].map(active),
    announcements,
    facts: o.appFacts ? [o.appFacts] : [],
    ...(o.announcementsError ? { announcementsError: o.announcementsError } : {}),
  };
  const app = buildStatus(inputs).services.find((s) => s.name === 'app')!.instances[0]!;
  return app.flags.map((f) => `${f.code}: ${f.message}`);
}

t.test('db not announced, app active with no container: "waiting for db", not "running but not announced"', async (t) => {
  t.same(appFlags({ dbAnnounced: false }), ['waiting: waiting for db']);
  t.same(appFlags({ dbAnnounced: false, appFacts: facts('app@1.service', 'absent') }), ['waiting: waiting for db'], 'the agent saw no container either');
});

t.test('db announced: app no longer waits; its own missing announcement is flagged as before', async (t) => {
  t.same(appFlags({ dbAnnounced: true }), ['not-announced: running but not announced']);
  t.same(appFlags({ dbAnnounced: true, appAnnounced: true }), [], 'healthy: no flag');
});

t.test('a container seen running is not waiting, even if db went away since', async (t) => {
  const flags = appFlags({ dbAnnounced: false, appFacts: facts('app@1.service', 'running') });
  t.notOk(flags.some((f) => f.startsWith('waiting')), flags.join('; '));
  t.ok(flags.some((f) => f.startsWith('not-announced')), 'its missing announcement is still a problem');
});

t.test('announcements unknown (etcd down): no claim either way about waiting', async (t) => {
  t.notOk(appFlags({ dbAnnounced: false, announcementsError: 'etcd at http://127.0.0.1:1: connection refused' }).some((f) => f.startsWith('waiting')));
});
