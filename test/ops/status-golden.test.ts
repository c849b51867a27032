/**
 * The pure status core: fixed inputs → buildStatus → table (colour off and on) and JSON, compared with
 * golden files, with the values that matter pinned beside them. Also the reasons fleet's constraints give
 * for a unit that is never scheduled.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildStatus, formatAge } from '../../src/ops/build-status.js';
import { renderStatusTable, statusJson } from '../../src/ops/render-status.js';
import type { StatusInputs, StatusMachineInput, StatusUnit } from '../../src/ops/status-model.js';
import { unscheduledReason } from '../../src/ops/unscheduled-reason.js';
import { parseSpec } from '../../src/cluster/load.js';
import { matchGolden } from '../support/golden.js';

const golden = (name: string): string => fileURLToPath(new URL(`./golden/${name}`, import.meta.url));

const M1 = '1a'.repeat(16);
const M2 = '2b'.repeat(16);
const M3 = '3c'.repeat(16);
const GONE = '4d'.repeat(16);
const NOW = new Date('2026-01-02T03:04:05.000Z');
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();

const spec = parseSpec(`name: shop
etcd: { endpoints: [http://127.0.0.1:2379], prefix: /services }
services:
  web:
    image: nginx
    ports: ["80:80"]
    deploy: { replicas: 3 }
    x-fleet: { conflicts: true }
    x-announce: { port: 80, ttl: 30s }
  db:
    image: postgres
    x-fleet: { machineMetadata: { disk: [ssd] } }
  mon:
    image: monitor
    x-fleet: { global: true }
    x-announce: { ttl: 20s }
`, 'shop.yaml');

const opt = (section: string, name: string, value: string) => ({ section, name, value });
const unit = (name: string, machineID: string | undefined, options = [opt('Service', 'ExecStart', '/bin/true')], desired = 'launched'): StatusUnit =>
  ({ name, desiredState: desired, currentState: machineID ? 'launched' : 'inactive', machineID, options });
const conflicts = [opt('X-Fleet', 'Conflicts', 'web@*.service')];
const record = (ip: string, hostname: string, machine: string, time: string) =>
  JSON.stringify({ ip, port: 80, hostname, host: 'h', machine, container: hostname, version: 1, time });

const inputs: StatusInputs = {
  source: 'fleet',
  now: NOW,
  spec,
  prefix: '/services',
  machines: [
    { id: M1, primaryIP: '10.0.0.1', metadata: { disk: 'hdd', region: 'east' } },
    { id: M2, primaryIP: '10.0.0.2', metadata: { disk: 'hdd' } },
  ],
  units: [
    unit('web@.service', undefined, conflicts, 'inactive'),
    unit('web@1.service', M1, conflicts),
    unit('web@2.service', M2, conflicts),
    unit('web@3.service', undefined, conflicts),
    unit('web-discovery@1.service', M1),
    unit('db@1.service', undefined, [opt('X-Fleet', 'MachineMetadata', 'disk=ssd')]),
    unit('mon.service', undefined, [opt('X-Fleet', 'Global', 'true')]),
    unit('other.service', M1),
  ],
  states: [
    { name: 'web@1.service', machineID: M1, loadState: 'loaded', activeState: 'active', subState: 'running' },
    { name: 'web@2.service', machineID: M2, loadState: 'loaded', activeState: 'failed', subState: 'failed' },
    { name: 'web-discovery@1.service', machineID: M1, loadState: 'loaded', activeState: 'active', subState: 'exited' },
    { name: 'mon.service', machineID: M1, loadState: 'loaded', activeState: 'active', subState: 'running' },
    { name: 'mon.service', machineID: M2, loadState: 'loaded', activeState: 'active', subState: 'running' },
    { name: 'mon.service', machineID: GONE, loadState: 'loaded', activeState: 'active', subState: 'running' },
    { name: 'mon-discovery.service', machineID: M2, loadState: 'loaded', activeState: 'failed', subState: 'failed' },
  ],
  announcements: [
    { key: '/services/shop/web/1', value: record('10.1.1.1', 'web-1', M1, ago(3700)), lease: '7587' },
    { key: '/services/shop/web/2', value: record('10.1.2.1', 'web-2', M2, ago(12)), lease: '7588' },
    { key: '/services/shop/mon/h1', value: record('10.1.1.9', 'mon-h1', M1, ago(95)), lease: '0' },
    { key: '/services/shop/mon/h3', value: '{"ip":"not an ip","hostname":"mon-h3"}', lease: '7590' },
    { key: '/services/other/x/1', value: record('10.9.9.9', 'x-1', M3, ago(1)), lease: '0' },
  ],
  // What the agents publish: the machine that left (GONE) published nothing.
  facts: [
    { v: 1, unit: 'web@1.service', machine: M1, phase: 'running', restarts: 0, startedAt: ago(3700), updatedAt: ago(3700) },
    { v: 1, unit: 'mon.service', machine: M1, phase: 'running', restarts: 1, lastExit: 137, startedAt: ago(600), updatedAt: ago(600) },
    { v: 1, unit: 'mon.service', machine: M2, phase: 'running', restarts: 0, startedAt: ago(600), updatedAt: ago(600) },
  ],
  hosts: { file: '/etc/hosts', text: '127.0.0.1 localhost\n# BEGIN fleetkit shop\n# header\n10.1.1.1 web-1 web-1.shop\n10.1.1.9 mon-h1 mon-h1.shop\n# END fleetkit shop\n' },
};

const model = buildStatus(inputs);

t.test('golden table (no colour), table (colour) and JSON', async (t) => {
  const plain = renderStatusTable(model, { color: false });
  matchGolden(t, golden('status.txt'), plain);
  matchGolden(t, golden('status-color.txt'), renderStatusTable(model, { color: true }));
  matchGolden(t, golden('status.json'), statusJson(model));
  t.notMatch(plain, /\x1b/, 'no escape codes without colour');
  t.match(renderStatusTable(model, { color: true }), '\x1b[31mfailed\x1b[0m', 'failed is red on a terminal');
  t.match(renderStatusTable(model, { color: true }), '\x1b[32mactive\x1b[0m', 'active is green');
  t.same(JSON.parse(statusJson(model)), JSON.parse(JSON.stringify(model)), 'the JSON is the model');
});

t.test('pinned: each disagreement is flagged on the right instance', async (t) => {
  const rows = new Map(model.services.flatMap((s) => s.instances.map((i) => [`${i.unit}${s.global ? `@${i.machine?.id.slice(0, 2)}` : ''}`, i])));
  const flags = (k: string) => rows.get(k)?.flags.map((f) => f.code);
  t.same(model.services.map((s) => s.name), ['web', 'db', 'mon'], 'spec order; units outside the spec left out');
  t.same(flags('web@1.service'), [], 'a leased announcement is live however old its time is');
  t.equal(rows.get('web@1.service')?.announcement?.ageSeconds, 3700);
  t.equal(rows.get('web@1.service')?.hosts, true);
  t.same(flags('web@2.service'), ['failed', 'not-running', 'not-in-hosts']);
  t.same(flags('web@3.service'), ['unscheduled']);
  t.equal(rows.get('web@3.service')?.flags[0]?.message,
    'never scheduled: conflicts with web@1.service on 1a1a1a1a and web@2.service on 2b2b2b2b: every machine that qualifies has a conflicting unit');
  t.same(flags('db@1.service'), ['unscheduled']);
  t.equal(rows.get('db@1.service')?.flags[0]?.message, 'never scheduled: no machine has metadata disk=ssd');
  t.same(flags('mon.service@1a'), ['stale'], 'no lease and older than the 20 s TTL');
  t.equal(rows.get('mon.service@1a')?.announcement?.stale, true);
  t.same(flags('mon.service@2b'), ['sidekick-failed'], 'a failed sidekick is named as the reason, once');
  t.equal(rows.get('mon.service@2b')?.flags[0]?.message, 'its sidekick mon-discovery.service is failed/failed: the container is not announced');
  t.same(flags('mon.service@4d'), ['facts-unknown', 'not-announced'], 'a container unit whose agent published nothing is unknown, not healthy');
  t.equal(rows.get('mon.service@1a')?.current, null, 'fleet\'s `inactive` for a global unit is not its state');
  t.same(model.services.find((s) => s.name === 'mon')?.spread, { unit: 'mon.service', expected: 2, active: 2, failed: 0, unknown: 0 }, 'the machine that left is not counted');
  t.match(rows.get('mon.service@1a'), { restarts: 1, lastExit: 137 }, 'restarts and the last exit from the agent\'s facts');
  t.notOk(model.services.some((s) => s.instances.some((i) => i.unit.includes('discovery'))), 'the sidekick is folded into its service');
  t.same(model.machines.map((m) => [m.id.slice(0, 2), m.on, m.units]), [['1a', true, 4], ['2b', true, 3], ['4d', false, 1]],
    'a machine fleet no longer lists is shown, not on');
  t.equal(model.problems, 11);
});

t.test('an invalid announcement is shown as unusable, never as an address', async (t) => {
  const row = model.services.find((s) => s.name === 'mon')!.instances.find((i) => i.announcement?.key === '/services/shop/mon/h3')!;
  t.match(row.announcement, { ip: null, hostname: null, error: '"ip" "not an ip" is not an IPv4 or IPv6 address' });
  t.equal(row.machine, null, 'a rejected record names no machine');
  t.same(row.flags.map((f) => f.code), ['not-running', 'bad-announcement']);
  t.match(renderStatusTable(model, { color: false }), /^mon +- +- +- +- +- +invalid +- +-$/m);
});

t.test('why a unit is not scheduled, in fleet\'s order of checks', async (t) => {
  const machines: StatusMachineInput[] = [
    { id: M1, primaryIP: '10.0.0.1', metadata: { region: 'east', disk: 'ssd' } },
    { id: M2, primaryIP: '10.0.0.2', metadata: { region: 'west' } },
  ];
  const u = (options: ReturnType<typeof opt>[]) => unit('x@1.service', undefined, options);
  const cases: [string, StatusUnit, StatusUnit[], string][] = [
    ['no machines', u([]), [], 'no machine is online'],
    ['MachineID', u([opt('X-Fleet', 'MachineID', M3)]), [], `MachineID ${M3} is not an online machine`],
    ['metadata OR and AND', u([opt('X-Fleet', 'MachineMetadata', '"region=north" "region=south"'), opt('X-Fleet', 'MachineMetadata', 'disk=ssd')]), [],
      'no machine has metadata region=north or region=south and disk=ssd'],
    ['MachineOf not scheduled', u([opt('X-Fleet', 'MachineOf', 'db@1.service')]), [unit('db@1.service', undefined)], 'MachineOf target db@1.service is not scheduled'],
    ['MachineOf on a machine it may not use', u([opt('X-Fleet', 'MachineOf', 'db@1.service'), opt('X-Fleet', 'MachineMetadata', 'region=east')]), [unit('db@1.service', M2)],
      'MachineOf target db@1.service runs on 2b2b2b2b, which this unit may not use'],
    ['conflict the other way round', u([]), [unit('y.service', M1, [opt('X-Fleet', 'Conflicts', 'x@*')]), unit('z.service', M2, [opt('X-Fleet', 'Conflicts', 'x@1.service')])],
      'conflicts with y.service on 1a1a1a1a and z.service on 2b2b2b2b: every machine that qualifies has a conflicting unit'],
    ['a machine is free', u([opt('X-Fleet', 'Conflicts', 'y.service')]), [unit('y.service', M1)], 'not scheduled yet: a machine qualifies, fleet has not placed it'],
  ];
  for (const [what, target, others, want] of cases) {
    t.equal(unscheduledReason(target, [target, ...others], [], what === 'no machines' ? [] : machines), want, what);
  }
});

t.test('ages are short', async (t) => {
  t.same([0, 59, 60, 61, 3599, 3600, 3660, 86400, 90000].map(formatAge), ['0s', '59s', '1m', '1m1s', '59m59s', '1h', '1h1m', '1d', '1d1h']);
});
