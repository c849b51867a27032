/**
 * The etcd flags shared by every command that talks to etcd (agent, watch-hosts, status, events), so they
 * are spelled the same everywhere, and their merge with the spec's `etcd` block.
 */
import type { EtcdSpec } from '../cluster/types.js';
import type { EtcdOptions } from '../etcd/connect.js';
import { parseArgs } from 'node:util';
import type { OptionSpec } from './args.js';

/** parseArgs options for etcd. `--etcd` may be repeated or comma-separated. */
export const etcdFlagSpec = {
  etcd: { type: 'string', multiple: true },
  'etcd-prefix': { type: 'string' },
  'etcd-ca': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-user': { type: 'string' },
  'etcd-password-file': { type: 'string' },
} as const satisfies OptionSpec;

/** The values parseArgs returns for etcdFlagSpec. */
export interface EtcdFlagValues {
  readonly etcd?: string[] | undefined;
  readonly 'etcd-prefix'?: string | undefined;
  readonly 'etcd-ca'?: string | undefined;
  readonly 'etcd-cert'?: string | undefined;
  readonly 'etcd-key'?: string | undefined;
  readonly 'etcd-user'?: string | undefined;
  readonly 'etcd-password-file'?: string | undefined;
}

/**
 * Flags win over the spec, the spec over `ETCDCTL_ENDPOINTS`, and that over etcd's default
 * `http://127.0.0.1:2379`.
 */
export function etcdOptionsFrom(
  flags: EtcdFlagValues,
  spec: EtcdSpec | undefined,
  env: Readonly<Record<string, string | undefined>>,
): EtcdOptions & { readonly prefix: string } {
  const fromFlags = (flags.etcd ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  const fromEnv = (env['ETCDCTL_ENDPOINTS'] ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  const endpoints = fromFlags.length ? fromFlags : spec?.endpoints.length ? [...spec.endpoints] : fromEnv.length ? fromEnv : ['http://127.0.0.1:2379'];
  const tls = {
    ca: flags['etcd-ca'] ?? spec?.tls?.ca,
    cert: flags['etcd-cert'] ?? spec?.tls?.cert,
    key: flags['etcd-key'] ?? spec?.tls?.key,
  };
  const user = flags['etcd-user'] ?? spec?.auth?.user;
  const passwordFile = flags['etcd-password-file'] ?? spec?.auth?.passwordFile;
  const prefix = (flags['etcd-prefix'] ?? spec?.prefix ?? '/services').replace(/\/+$/, '') || '/';
  return {
    endpoints,
    tls: tls.ca || tls.cert || tls.key ? tls : undefined,
    auth: user && passwordFile ? { user, passwordFile } : undefined,
    prefix,
  };
}

/**
 * The etcd flags among another command's words (the cluster's agent unit runs `agent --etcd URL
 * --etcd-prefix P …`): read with this file's spelling, every other word ignored.
 */
export function etcdFlagsOf(argv: readonly string[]): EtcdFlagValues {
  const { values } = parseArgs({ args: [...argv], options: etcdFlagSpec, strict: false, allowPositionals: true });
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const etcd = ([] as unknown[]).concat(values['etcd'] ?? []).filter((e): e is string => typeof e === 'string');
  return {
    ...(etcd.length ? { etcd } : {}),
    'etcd-prefix': str('etcd-prefix'), 'etcd-ca': str('etcd-ca'), 'etcd-cert': str('etcd-cert'), 'etcd-key': str('etcd-key'),
    'etcd-user': str('etcd-user'), 'etcd-password-file': str('etcd-password-file'),
  };
}
