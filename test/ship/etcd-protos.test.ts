/**
 * The bundle's etcd gRPC definitions are built from etcd3's own .proto files at build time
 * (scripts/inline-etcd-protos.mjs): they must be the very services, methods and wire encodings etcd3
 * gets from `loadSync` on the files, and the bundle must not refer to the files any more.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT } from './standalone.js';

const require = createRequire(import.meta.url);
const etcd3Dir = dirname(require.resolve('etcd3/package.json'));
const loader = createRequire(join(etcd3Dir, 'package.json'))('@grpc/proto-loader') as {
  loadSync(file: string, o: object): Record<string, unknown>;
  fromJSON(json: object, o: object): Record<string, unknown>;
};
const { etcdDescriptor } = (await import(join(ROOT, 'scripts/inline-etcd-protos.mjs') as string)) as { etcdDescriptor(dir: string): object };
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(v: object): Buffer;
  responseDeserialize(b: Buffer): object;
}

t.test('the same services, methods and encodings as etcd3 loads from disk', async (t) => {
  const fromFiles = loader.loadSync(join(etcd3Dir, 'proto/rpc.proto'), options);
  const inlined = loader.fromJSON(etcdDescriptor(etcd3Dir), options);
  t.strictSame(Object.keys(inlined).sort(), Object.keys(fromFiles).sort(), 'the same names');
  const services = Object.keys(fromFiles).filter((k) => /^etcdserverpb\.[A-Z]\w+$/.test(k) && typeof Object.values(fromFiles[k] as object)[0] === 'object' && 'path' in (Object.values(fromFiles[k] as object)[0] as object));
  t.ok(['KV', 'Watch', 'Lease', 'Auth'].every((s) => services.includes(`etcdserverpb.${s}`)), `services: ${services.join(', ')}`);
  for (const s of services) {
    const a = fromFiles[s] as Record<string, Method>;
    const b = inlined[s] as Record<string, Method>;
    t.strictSame(Object.keys(b), Object.keys(a), `${s}: methods`);
    for (const m of Object.keys(a)) {
      t.strictSame([b[m]!.path, b[m]!.requestStream, b[m]!.responseStream], [a[m]!.path, a[m]!.requestStream, a[m]!.responseStream], `${s}.${m}`);
    }
  }
  const range = { key: Buffer.from('/a'), range_end: Buffer.from('/b'), limit: '5', revision: '7', sort_order: 'DESCEND', keys_only: true };
  const kvA = fromFiles['etcdserverpb.KV'] as Record<string, Method>;
  const kvB = inlined['etcdserverpb.KV'] as Record<string, Method>;
  t.ok(kvB.Range!.requestSerialize(range).equals(kvA.Range!.requestSerialize(range)), 'a RangeRequest encodes to the same bytes');
  const lease = { ID: '123456789012345', TTL: '60' };
  const leaseA = fromFiles['etcdserverpb.Lease'] as Record<string, Method>;
  const leaseB = inlined['etcdserverpb.Lease'] as Record<string, Method>;
  const bytes = leaseA.LeaseGrant!.requestSerialize(lease);
  t.ok(leaseB.LeaseGrant!.requestSerialize(lease).equals(bytes), 'a LeaseGrantRequest too (64-bit values as strings)');
});

t.test('the bundle carries the definitions, not a path to them', async (t) => {
  const bundle = readFileSync(join(ROOT, 'dist/fleetkit.cjs'), 'utf8');
  t.notMatch(bundle, 'proto/rpc.proto', 'no run-time read of rpc.proto');
  t.match(bundle, 'fromJSON)({nested:{etcdserverpb', 'the descriptor inlined at the call');
  for (const name of ['cpu-features', 'sshcrypto.node', 'usocket']) {
    t.notMatch(bundle, `require("${name}")`, `${name} is not looked up at run time`);
  }
  t.notMatch(bundle, 'require("./crypto/build/Release/sshcrypto.node")');
});
