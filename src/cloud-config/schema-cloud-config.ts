/**
 * The coreos-cloudinit cloud-config schema, written from its documentation (the subset CoreOS-family
 * machines read: hostname, ssh_authorized_keys, coreos.{etcd2,fleet,flannel,update,locksmith,units},
 * write_files, users). Unknown keys are rejected, so a typo fails here and not silently at boot.
 * cloudinit treats `-` and `_` in keys alike: keys are normalized to `_` before validation.
 */
import * as z from 'zod/mini';

const str = z.string();
const bool = z.boolean();
const opt = z.optional;

/** `permissions` is a string of octal digits: cloudinit rejects a YAML integer. */
export const permissionsPattern = /^0?[0-7]{3,4}$/;

const unitCommand = z.enum(['start', 'stop', 'restart', 'reload', 'try-restart', 'reload-or-restart', 'reload-or-try-restart']);

const unit = z.strictObject({
  name: str,
  runtime: opt(bool),
  enable: opt(bool),
  content: opt(str),
  command: opt(unitCommand),
  mask: opt(bool),
  drop_ins: opt(z.array(z.strictObject({ name: str.check(z.regex(/\.conf$/)), content: str }))),
});

const etcd2 = z.strictObject(
  Object.fromEntries(
    [
      'name', 'data_dir', 'discovery', 'discovery_srv', 'discovery_fallback', 'discovery_proxy', 'initial_cluster',
      'initial_cluster_state', 'initial_cluster_token', 'initial_advertise_peer_urls', 'advertise_client_urls',
      'listen_client_urls', 'listen_peer_urls', 'proxy', 'cert_file', 'key_file', 'trusted_ca_file', 'client_cert_auth',
      'peer_cert_file', 'peer_key_file', 'peer_trusted_ca_file', 'peer_client_cert_auth', 'heartbeat_interval',
      'election_timeout', 'snapshot_count', 'debug', 'log_package_levels',
    ].map((k) => [k, opt(z.union([str, bool, z.number()]))]),
  ),
);

const fleet = z.strictObject({
  agent_ttl: opt(str),
  engine_reconcile_interval: opt(z.number()),
  etcd_cafile: opt(str),
  etcd_certfile: opt(str),
  etcd_keyfile: opt(str),
  etcd_key_prefix: opt(str),
  etcd_request_timeout: opt(z.number()),
  etcd_servers: opt(str),
  etcd_username: opt(str),
  etcd_password: opt(str),
  metadata: opt(str),
  public_ip: opt(str),
  verbosity: opt(z.number()),
  disable_engine: opt(bool),
  disable_watches: opt(bool),
  token_limit: opt(z.number()),
});

const flannel = z.strictObject({
  etcd_endpoints: opt(str),
  etcd_cafile: opt(str),
  etcd_certfile: opt(str),
  etcd_keyfile: opt(str),
  etcd_prefix: opt(str),
  etcd_username: opt(str),
  etcd_password: opt(str),
  ip_masq: opt(z.union([str, bool])),
  subnet_file: opt(str),
  interface: opt(str),
  public_ip: opt(str),
});

const writeFile = z.strictObject({
  path: str.check(z.regex(/^\//)),
  content: opt(str),
  permissions: opt(str.check(z.regex(permissionsPattern))),
  owner: opt(str),
  encoding: opt(z.enum(['b64', 'base64', 'gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'])),
});

const user = z.strictObject({
  name: str,
  passwd: opt(str),
  groups: opt(z.array(str)),
  ssh_authorized_keys: opt(z.array(str)),
  homedir: opt(str),
  shell: opt(str),
  system: opt(bool),
  no_create_home: opt(bool),
  primary_group: opt(str),
  gecos: opt(str),
});

/** A cloud-config document, after `-`→`_` key normalization. */
export const cloudConfigSchema = z.strictObject({
  hostname: opt(str),
  ssh_authorized_keys: opt(z.array(str)),
  manage_etc_hosts: opt(z.literal('localhost')),
  users: opt(z.array(user)),
  write_files: opt(z.array(writeFile)),
  coreos: opt(
    z.strictObject({
      etcd2: opt(etcd2),
      fleet: opt(fleet),
      flannel: opt(flannel),
      update: opt(z.strictObject({ reboot_strategy: opt(z.enum(['reboot', 'etcd-lock', 'best-effort', 'off'])), group: opt(str), server: opt(str) })),
      locksmith: opt(z.strictObject({ endpoint: opt(str), etcd_cafile: opt(str), etcd_certfile: opt(str), etcd_keyfile: opt(str), group: opt(str), window_start: opt(str), window_length: opt(str) })),
      units: opt(z.array(unit)),
    }),
  ),
});

/** Rewrites every mapping key `a-b` to `a_b`, as coreos-cloudinit reads them (values are left alone). */
export function normalizeCloudConfigKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeCloudConfigKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/-/g, '_'), normalizeCloudConfigKeys(v)]));
  }
  return value;
}
