/**
 * etcd's TLS files are read in one place (src/etcd/settings-files.ts): a missing or unreadable CA, client
 * certificate or key reads the same, file and setting named, whether doctor's HTTPS probe meets it or etcd3's
 * client (here `fleetkit await`, which connects at once). Both fail before anything is sent: nothing
 * listens at the endpoint, and the files are checked first.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleetkit } from '../cli/load-io.js';
import { readEtcdTls } from '../../src/etcd/settings-files.js';

const ENDPOINT = 'https://127.0.0.1:9';

t.test('a TLS file that cannot be read: the same located message from doctor and from the etcd client', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fk-etcd-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pem = join(dir, 'ok.pem');
  await writeFile(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const missing = join(dir, 'missing-ca.pem');
  const cases: ReadonlyArray<{ name: string; flags: string[]; message: string; hint: string }> = [
    { name: 'a missing CA', flags: ['--etcd-ca', missing], message: `cannot read etcd ca file ${missing}: ENOENT`, hint: 'check the path in etcd.tls.ca (--etcd-ca) and its permissions' },
    // A directory where the CA should be: the file exists but cannot be read as one (EACCES needs a non-root user).
    { name: 'an unreadable CA', flags: ['--etcd-ca', dir], message: `cannot read etcd ca file ${dir}: EISDIR`, hint: 'check the path in etcd.tls.ca (--etcd-ca) and its permissions' },
    { name: 'a missing client key', flags: ['--etcd-ca', pem, '--etcd-cert', pem, '--etcd-key', join(dir, 'key.pem')], message: `cannot read etcd key file ${join(dir, 'key.pem')}: ENOENT`, hint: 'check the path in etcd.tls.key (--etcd-key) and its permissions' },
    { name: 'a client certificate without a CA', flags: ['--etcd-cert', pem, '--etcd-key', pem], message: 'etcd TLS needs a CA file (etcd.tls.ca)', hint: 'set etcd.tls.ca (or --etcd-ca) to the CA that signed the etcd server certificate' },
  ];
  for (const c of cases) {
    const doctor = await runFleetkit(['doctor', '--etcd', ENDPOINT, ...c.flags, '--check', 'etcd', '--json']);
    t.equal(doctor.code, 1, `${c.name}: doctor fails`);
    const report = JSON.parse(doctor.stdout.trim()) as { check: string; status: string; message: string; hint: string | null };
    t.same({ check: report.check, status: report.status, message: report.message, hint: report.hint }, { check: 'etcd', status: 'fail', message: c.message, hint: c.hint }, `${c.name}: doctor's etcd check`);

    const client = await runFleetkit(['await', '--need', 'db=/services/shop/db/1', '--etcd', ENDPOINT, ...c.flags, '--timeout', '1s', '--', 'true']);
    t.equal(client.code, 2, `${c.name}: a usage error for the etcd client`);
    t.equal(client.stderr, `fleetkit await: ${c.message}\n  hint: ${c.hint}\n`, `${c.name}: the etcd client says the same`);
  }
});

t.test('the files are read as given: contents, not paths, reach the clients', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fk-etcd-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [k, v] of [['ca', 'CA'], ['cert', 'CERT'], ['key', 'KEY']] as const) await writeFile(join(dir, k), v);
  const all = await readEtcdTls({ ca: join(dir, 'ca'), cert: join(dir, 'cert'), key: join(dir, 'key') });
  t.same({ ca: all?.ca.toString(), cert: all?.cert?.toString(), key: all?.key?.toString() }, { ca: 'CA', cert: 'CERT', key: 'KEY' });
  const caOnly = await readEtcdTls({ ca: join(dir, 'ca') });
  t.same(Object.keys(caOnly ?? {}), ['ca'], 'no client certificate: only the CA');
  t.equal(await readEtcdTls(undefined), undefined, 'no TLS settings: plain http');
  t.equal(await readEtcdTls({ ca: undefined, cert: undefined, key: undefined }), undefined, 'empty TLS settings: plain http');
  await t.rejects(readEtcdTls({ ca: join(dir, 'nope'), key: join(dir, 'nope2') }), { message: `cannot read etcd ca file ${join(dir, 'nope')}: ENOENT` }, 'with several files wrong, the CA is named first');
});
