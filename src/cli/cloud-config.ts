/**
 * `fleetkit cloud-config [SPEC] [--format cloud-config|butane] [--role NAME] [--metadata k=v,…]
 *  [--discovery URL | --initial-cluster NAME=URL,…] [--etcd-name N] [--hostname H] [--ip IP]
 *  [--ssh-key FILE…] [--embed-secrets] [-o FILE]`
 *
 * Writes the boot configuration of one machine of the cluster. Reading files (spec, SSH keys, secrets)
 * happens here; planning and rendering are pure (src/cloud-config).
 */
import { readFile } from 'node:fs/promises';
import { writeFileSafe } from '../fs/write-file-safe.js';
import { resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { loadCluster } from '../cluster/cluster-file.js';
import { renderCluster } from '../render/render.js';
import { parseMetadataPairs } from '../cloud-config/metadata.js';
import { planMachine, type BootTarget } from '../cloud-config/plan.js';
import { renderCloudConfig } from '../cloud-config/render-cloud-config.js';
import { renderButane } from '../cloud-config/render-butane.js';
import { assertBootDocument } from '../cloud-config/validate.js';
import { parseCommandArgs } from './args.js';
import { CLUSTER_FLAGS_HELP, clusterFileFlags, clusterFlagSpec, printSpecWarnings } from './cluster-flags.js';
import { targetHelp, targetOption, withTarget } from './target-option.js';
import type { Command } from './io.js';

const HELP = `usage: fleetkit cloud-config [SPEC] [options]

Writes the cloud-config (Container Linux, Flatcar) or Butane (Fedora CoreOS) of one machine.

  --format cloud-config|butane   output format (default cloud-config)
  --role NAME                    a machine role from the spec's "roles"
  --metadata k=v,…               extra fleet metadata for this machine
  --discovery URL                etcd discovery URL (etcd members)
  --initial-cluster N=URL,…      static etcd member list (etcd members)
  --etcd-name NAME               this member's etcd name
  --hostname NAME                the machine's host name
  --ip ADDRESS                   the machine's address (default: $private_ipv4/$public_ipv4)
  --ssh-key FILE                 authorized SSH public key file (repeatable)
  --embed-secrets                copy the spec's etcd TLS files and password file into the output (mode 0600)
  --target NAME                  the hosts' generation (default: x-fleetkit.target in SPEC, else current):
${targetHelp()}
  -o, --output FILE              write to FILE instead of stdout
${CLUSTER_FLAGS_HELP}
`;

async function readNamed(path: string, what: string, cwd: string): Promise<string> {
  try {
    return await readFile(resolve(cwd, path), 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `check that ${path} exists and is readable`);
  }
}

function checkUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: "${value}" is not a URL`, 'e.g. https://discovery.etcd.io/TOKEN');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag}: "${value}" must be an http or https URL`);
  return value;
}

function checkInitialCluster(value: string): string {
  for (const member of value.split(',')) {
    const eq = member.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z0-9_.-]+$/.test(member.slice(0, eq))) {
      throw new UsageError(`--initial-cluster: "${member}" is not NAME=URL`, 'e.g. m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380');
    }
    checkUrl(member.slice(eq + 1), '--initial-cluster');
  }
  return value;
}

export const run: Command = async (argv, io) => {
  const { values, positionals } = parseCommandArgs('fleetkit cloud-config', argv, {
    ...clusterFlagSpec,
    format: { type: 'string' },
    role: { type: 'string' },
    metadata: { type: 'string', multiple: true },
    discovery: { type: 'string' },
    'initial-cluster': { type: 'string' },
    'etcd-name': { type: 'string' },
    hostname: { type: 'string' },
    ip: { type: 'string' },
    'ssh-key': { type: 'string', multiple: true },
    'embed-secrets': { type: 'boolean' },
    target: { type: 'string' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new UsageError('cloud-config takes one SPEC', 'fleetkit cloud-config cluster.yaml --role worker');
  const format = values.format ?? 'cloud-config';
  if (format !== 'cloud-config' && format !== 'butane') throw new UsageError(`--format must be cloud-config or butane, not "${format}"`);
  const target: BootTarget = format === 'butane' ? 'fcos' : 'container-linux';

  const specArg = positionals[0] ?? 'cluster.yaml';
  const metadata = (values.metadata ?? []).flatMap((m) => parseMetadataPairs(m));
  const discovery = values.discovery === undefined ? undefined : checkUrl(values.discovery, '--discovery');
  const initialCluster = values['initial-cluster'] === undefined ? undefined : checkInitialCluster(values['initial-cluster']);
  if (values.hostname !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(values.hostname)) {
    throw new UsageError(`--hostname "${values.hostname}" is not a valid host name`, 'letters, digits and hyphens, at most 63 characters');
  }
  const sshKeys: string[] = [];
  for (const file of values['ssh-key'] ?? []) {
    const keys = (await readNamed(file, 'SSH key file', io.cwd)).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (keys.length === 0) throw new UsageError(`SSH key file ${file} holds no key`, 'pass a public key file such as ~/.ssh/id_ed25519.pub');
    sshKeys.push(...keys);
  }

  const specText = await readNamed(specArg, 'spec', io.cwd);
  // Read as gen-units reads it: variables from the environment and .env beside it, the name as Compose gives it.
  const loaded = await loadCluster({ file: specArg, cwd: io.cwd, env: io.env, ...clusterFileFlags(values) });
  printSpecWarnings(loaded.spec, io, 'fleetkit cloud-config');
  const spec = withTarget(loaded.spec, targetOption(values.target, 'fleetkit cloud-config'));
  const secrets: Array<[string, string]> = [];
  if (values['embed-secrets']) {
    const paths = [spec.etcd.tls?.ca, spec.etcd.tls?.cert, spec.etcd.tls?.key, spec.etcd.auth?.passwordFile].filter((p): p is string => !!p);
    if (paths.length === 0) throw new UsageError('--embed-secrets: the spec names no etcd TLS or password file', 'set etcd.tls or etcd.auth in the spec, or drop --embed-secrets');
    for (const p of paths) secrets.push([p, await readNamed(p, 'secret file', io.cwd)]);
  }
  const fleetkitUnits = renderCluster(spec).files.filter((f) => f.name.startsWith('fleetkit-')).map((f) => [f.name, f.text] as const);

  const plan = planMachine(spec, {
    target, role: values.role, metadata, discovery, initialCluster, etcdName: values['etcd-name'],
    hostname: values.hostname, ip: values.ip, sshKeys, specText, secrets, fleetkitUnits,
  });
  const text = target === 'fcos' ? renderButane(plan) : renderCloudConfig(plan);
  assertBootDocument(format, text);
  for (const w of plan.warnings) io.stderr.write(`fleetkit cloud-config: warning: ${w}\n`);

  if (values.output === undefined) {
    io.stdout.write(text);
  } else {
    // The output may hold secrets: never world-readable, and never half-written.
    const out = resolve(io.cwd, values.output);
    await writeFileSafe(out, text, { mode: 0o644, secret: secrets.length > 0 });
  }
  return ExitCode.ok;
};
