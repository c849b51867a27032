// esbuild plugin: etcd3 reads its gRPC service definitions from `${__dirname}/../proto/rpc.proto` when its
// connection pool module is first evaluated. Inside a single-file build that path does not exist, so the
// plugin parses the .proto files once, at build time, and swaps the call for `fromJSON(<descriptor>)` from
// the same @grpc/proto-loader: the bundle carries the definitions, reads no file at run time and skips the
// .proto parser on every start of the agent, announce and watch-hosts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What etcd3 1.x writes; the build fails loudly if a new etcd3 loads its protos another way. */
const LOAD_CALL = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{(?=\s*keepCase: true,)/;

/**
 * The protobufjs JSON descriptor of etcd3's rpc.proto (with kv.proto and auth.proto), parsed the way
 * etcd3 parses it (`keepCase: true`), by the protobufjs that its @grpc/proto-loader uses.
 * @param {string} etcd3Dir the etcd3 package directory
 */
export function etcdDescriptor(etcd3Dir) {
  const requireFromEtcd = createRequire(join(etcd3Dir, 'package.json'));
  const loaderMain = requireFromEtcd.resolve('@grpc/proto-loader');
  const protobuf = createRequire(loaderMain)('protobufjs');
  const root = new protobuf.Root();
  root.loadSync(join(etcd3Dir, 'proto', 'rpc.proto'), { keepCase: true });
  return root.toJSON();
}

/** The plugin; `fromJSON` gets the very options etcd3 passes to `loadSync` (longs, enums, defaults, oneofs). */
export function inlineEtcdProtos() {
  return {
    name: 'inline-etcd-protos',
    setup(build) {
      build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!LOAD_CALL.test(source)) {
          return { errors: [{ text: `${args.path}: etcd3 no longer loads rpc.proto with loadSync(__dirname…); update scripts/inline-etcd-protos.mjs` }] };
        }
        const descriptor = JSON.stringify(etcdDescriptor(join(dirname(args.path), '..')));
        return {
          contents: source.replace(LOAD_CALL, `(0, proto_loader_1.fromJSON)(${descriptor}, {`),
          loader: 'js',
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}
