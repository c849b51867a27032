/**
 * The `docker run` flags in `x-docker.args` that decide a container's /etc/hosts, the raw twins of the Compose
 * keys `extra_hosts`, `hostname`, `network_mode` and a volume at /etc/hosts. Words are read as docker's flag
 * parser (spf13/pflag) reads them: `--flag=value` or `--flag value`; short flags `-h value`, `-hvalue`,
 * `-h=value`, and grouped behind boolean ones (`-ih web`). Every word of `x-docker.args` comes before the
 * image. As in pflag, a long flag that is not boolean takes the next word as its value whatever it looks like.
 * Pure.
 */

/** docker run's one-letter flags that take a value (`docker run --help`). */
const SHORT_WITH_VALUE = new Set(['a', 'c', 'e', 'h', 'l', 'm', 'p', 'u', 'v', 'w']);
/** docker run's long flags that take no value (`docker run --help`); every other one takes the next word. */
const LONG_BOOLEAN = new Set(['detach', 'disable-content-trust', 'help', 'init', 'interactive', 'no-healthcheck', 'oom-kill-disable', 'privileged', 'publish-all', 'quiet', 'read-only', 'rm', 'sig-proxy', 'tty', 'use-api-socket']);

/** A flag of interest, under its long name, with its value and the index of the word that holds the flag. */
export interface DockerFlag {
  readonly index: number;
  /** The long name: `add-host`, `hostname`, `network` (also for `--net`), `volume`, `mount`. */
  readonly name: 'add-host' | 'hostname' | 'network' | 'volume' | 'mount';
  /** As written: `--add-host`, `-h`, `--net`. */
  readonly written: string;
  readonly value: string;
}

const LONG: Record<string, DockerFlag['name']> = {
  'add-host': 'add-host',
  hostname: 'hostname',
  network: 'network',
  net: 'network',
  volume: 'volume',
  mount: 'mount',
};
const SHORT: Record<string, DockerFlag['name']> = { h: 'hostname', v: 'volume' };

/** The flags of interest in `args`, in order. A flag whose value is missing (the last word) is skipped. */
export function dockerFlags(args: readonly string[]): DockerFlag[] {
  const out: DockerFlag[] = [];
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.startsWith('--') && w.length > 2) {
      const eq = w.indexOf('=');
      const long = eq < 0 ? w.slice(2) : w.slice(2, eq);
      const name = LONG[long];
      if (name === undefined) {
        // Another flag: its value, when in the next word, is no flag (`--label --hostname` labels).
        if (eq < 0 && !LONG_BOOLEAN.has(long)) i++;
        continue;
      }
      const value = eq >= 0 ? w.slice(eq + 1) : args[++i];
      if (value !== undefined) out.push({ index: eq >= 0 ? i : i - 1, name, written: `--${long}`, value });
    } else if (w.startsWith('-') && w.length > 1 && w !== '--') {
      // A group of one-letter flags: booleans until the first that takes a value, which takes the rest.
      for (let k = 1; k < w.length; k++) {
        const c = w[k]!;
        if (!SHORT_WITH_VALUE.has(c)) continue;
        const rest = w.slice(k + 1).replace(/^=/, '');
        const at = i;
        const value = rest !== '' ? rest : args[++i];
        const name = SHORT[c];
        if (name !== undefined && value !== undefined) out.push({ index: at, name, written: `-${c}`, value });
        break;
      }
    }
  }
  return out;
}

/** The target of a `-v`/`--volume` value (`SRC:DST[:OPTS]`, or `DST` alone for an anonymous volume). */
function volumeTarget(v: string): string {
  const parts = v.split(':');
  return parts.length === 1 ? parts[0]! : parts[1]!;
}

/** The target of a `--mount` value (`type=bind,source=…,target=…`; also `dst=`, `destination=`). */
function mountTarget(v: string): string | undefined {
  for (const field of v.split(',')) {
    const [k, ...rest] = field.split('=');
    if (k !== undefined && ['target', 'dst', 'destination'].includes(k.trim().toLowerCase())) return rest.join('=').replace(/^"|"$/g, '');
  }
  return undefined;
}

/** True when a container path is /etc/hosts. */
function isEtcHosts(path: string | undefined): boolean {
  return path !== undefined && path.replace(/\/+$/, '') === '/etc/hosts';
}

/** What one flag means for the cluster's containers' hosts file. */
export type HostsEffect =
  | { readonly kind: 'keeps-docker-hosts'; readonly flag: DockerFlag; readonly why: string }
  | { readonly kind: 'refused'; readonly flag: DockerFlag; readonly why: string; readonly hint: string };

/**
 * The flags that make a container keep docker's own /etc/hosts (so the cluster's file is not mounted), and
 * the ones refused as their Compose twin is (`--network container:X`: another container's network namespace,
 * which may be on another machine). A network by name, or `bridge`, keeps the mount: docker still manages the
 * container's /etc/hosts there.
 */
export function hostsEffects(args: readonly string[]): HostsEffect[] {
  const out: HostsEffect[] = [];
  for (const flag of dockerFlags(args)) {
    const what = `${flag.written} ${flag.value}`;
    switch (flag.name) {
      case 'add-host':
        out.push({ kind: 'keeps-docker-hosts', flag, why: `${what}: docker writes it into its own /etc/hosts only` });
        break;
      case 'hostname':
        out.push({ kind: 'keeps-docker-hosts', flag, why: `${what}: its own name resolves through docker's /etc/hosts only` });
        break;
      case 'network':
        if (flag.value === 'host' || flag.value === 'none') out.push({ kind: 'keeps-docker-hosts', flag, why: `${what}: as network_mode: ${flag.value}` });
        else if (/^(service|container):/.test(flag.value)) {
          out.push({ kind: 'refused', flag, why: `${what} joins another container's network namespace, which may run on another machine`, hint: 'remove it, or run both processes in one service' });
        }
        break;
      case 'volume':
        if (isEtcHosts(volumeTarget(flag.value))) out.push({ kind: 'keeps-docker-hosts', flag, why: `${what}: it mounts its own /etc/hosts` });
        break;
      case 'mount':
        if (isEtcHosts(mountTarget(flag.value))) out.push({ kind: 'keeps-docker-hosts', flag, why: `${what}: it mounts its own /etc/hosts` });
        break;
    }
  }
  return out;
}
