/**
 * etcd as this host's fleetkit, fleet and flannel reach it: every endpoint answers `/version` over the
 * cluster's TLS; a read under the announcement prefix passes auth (etcd3, as the agent and the watcher
 * read); when the cluster uses fleet, the member serves the v2 API that fleet speaks only (etcd 3.4/3.5
 * with --enable-v2; 3.6 removed it).
 */
import type { Etcd3 } from 'etcd3';
import { connectEtcd, type EtcdOptions } from '../etcd/connect.js';
import { readEtcdPassword, readEtcdTls, type EtcdTlsPem } from '../etcd/settings-files.js';
import { fail, ok, skip, unknown, type CheckContext, type CheckDef, type CheckResult } from './check.js';
import { httpGet, HttpGetError, type HttpAnswer, type HttpGetOptions } from './http-get.js';

/** What the etcd check learnt, for the checks that run after it. */
export interface EtcdFacts {
  /** The first endpoint that answered `/version`. */
  url?: string;
  /** Its `etcdserver` version, e.g. `3.4.23`. */
  version?: string;
}

/** The cluster's etcd, and one etcd3 client for every check (closed by `close`). */
export class EtcdSession {
  readonly facts: EtcdFacts = {};
  private client: Promise<Etcd3> | undefined;
  private pem: Promise<EtcdTlsPem | undefined> | undefined;

  constructor(readonly options: EtcdOptions & { readonly prefix: string }) {}

  /** A GET on `url`+`path` with the cluster's TLS files and, when asked, its v2 (basic) auth. */
  async get(url: string, path: string, ctx: CheckContext, withAuth = false): Promise<HttpAnswer> {
    // The files are read once, as etcd3's client reads them (`etcd/settings-files.ts`): the same messages.
    this.pem ??= readEtcdTls(this.options.tls);
    const o: HttpGetOptions = { url: `${url.replace(/\/$/, '')}${path}`, tls: await this.pem, signal: ctx.signal, timeoutMs: ctx.timeoutMs };
    const auth = this.options.auth;
    if (withAuth && auth) return httpGet({ ...o, basicAuth: { user: auth.user, password: await readEtcdPassword(auth.passwordFile) } });
    return httpGet(o);
  }

  /**
   * The etcd3 client, its calls bounded by `timeoutMs`, for the endpoints that answered `/version` (a
   * silent member would spend a call's whole deadline). The first call decides; later ones share it.
   */
  etcd3(timeoutMs: number, endpoints: readonly string[] = this.options.endpoints): Promise<Etcd3> {
    this.client ??= connectEtcd({ ...this.options, endpoints, callTimeoutMs: timeoutMs });
    return this.client;
  }

  close(): void {
    void this.client?.then((c) => c.close(), () => undefined);
  }
}

const ETCD_HINT = 'is etcd running there? check etcd.endpoints in cluster.yaml (or --etcd)';

/** A result for the checks that need etcd when it did not answer. */
export function etcdUnknown(session: EtcdSession): CheckResult | undefined {
  return session.facts.url ? undefined : unknown('etcd did not answer (see the etcd check)', 'fix etcd first');
}

/** `3.5.17` → [3, 5]. */
export function parseEtcdVersion(v: string): readonly [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** What fleet needs of a member's version: the v2 API, served by 3.x before 3.6 (with --enable-v2 from 3.4 on). */
export function v2Verdict(version: string): CheckResult | undefined {
  const v = parseEtcdVersion(version);
  if (!v) return unknown(`cannot read etcd's version "${version}"`);
  if (v[0] > 3 || (v[0] === 3 && v[1] >= 6)) {
    return fail(`etcd ${version} has no v2 API (etcd 3.6 removed it), and fleet speaks only v2`, 'run etcd 3.5 with --enable-v2=true on the members (fleetkit cloud-config pins 3.5.17)');
  }
  return undefined;
}

export function etcdChecks(session: EtcdSession, withoutFleet: string | undefined): CheckDef[] {
  const o = session.options;
  const tlsOn = o.endpoints.some((e) => e.startsWith('https:'));
  return [
    {
      name: 'etcd',
      async run(ctx) {
        const bad: string[] = [];
        let hint = ETCD_HINT;
        // Every endpoint at once: three silent members cost one deadline, not three.
        const answers = await Promise.all(o.endpoints.map(async (url) => {
          try {
            const a = await session.get(url, '/version', ctx);
            const version = a.status === 200 ? parseVersionBody(a.body) : undefined;
            return version ? { url, version } : { url, problem: `answered GET /version with ${a.status}, not etcd's version` };
          } catch (e) {
            if (!(e instanceof HttpGetError)) throw e;
            if (e.kind === 'tls') hint = 'etcd.tls.ca must be the CA that signed the members\' certificates, and etcd.tls.cert/key a client certificate of that CA (or --etcd-ca/--etcd-cert/--etcd-key)';
            return { url, problem: e.reason };
          }
        }));
        for (const a of answers) {
          if ('problem' in a) bad.push(`${a.url}: ${a.problem}`);
          else {
            session.facts.url ??= a.url;
            session.facts.version ??= a.version;
          }
        }
        if (!session.facts.url) return fail(`etcd does not answer: ${bad.join('; ')}`, hint);
        // The v3 API with the cluster's auth: what the agent and the hosts watcher do.
        try {
          const client = await session.etcd3(ctx.timeoutMs, answers.flatMap((a) => ('problem' in a ? [] : [a.url])));
          await client.getAll().prefix(`${o.prefix.replace(/\/$/, '')}/`).limit(1).keys();
        } catch (e) {
          const msg = (e as Error).message ?? String(e);
          const authHint = /auth|permission|password|user/i.test(msg)
            ? `check etcd.auth.user and etcd.auth.passwordFile, and that the user may read ${o.prefix}`
            : ETCD_HINT;
          return fail(`etcd answers /version at ${session.facts.url}, but a read of ${o.prefix} through the v3 API failed: ${msg}`, authHint);
        }
        if (bad.length) return fail(`etcd ${session.facts.version} answers at ${session.facts.url}, but not everywhere: ${bad.join('; ')}`, hint);
        return ok(`etcd ${session.facts.version} answers at ${o.endpoints.join(', ')} (TLS ${tlsOn ? 'on' : 'off'}, auth ${o.auth ? `as ${o.auth.user}` : 'off'}); ${o.prefix} is readable`);
      },
    },
    {
      name: 'etcd-v2',
      after: ['etcd'],
      async run(ctx) {
        if (withoutFleet !== undefined) return skip(withoutFleet);
        const waiting = etcdUnknown(session);
        if (waiting) return waiting;
        const verdict = v2Verdict(session.facts.version!);
        if (verdict) return verdict;
        const a = await session.get(session.facts.url!, '/v2/keys/?quorum=false', ctx, true).catch((e: unknown) => e);
        if (a instanceof HttpGetError) return fail(`etcd's v2 API at ${session.facts.url}: ${a.reason}`, ETCD_HINT);
        if (a instanceof Error) throw a;
        const answer = a as HttpAnswer;
        if (answer.status === 401 || answer.status === 403) return fail(`etcd's v2 API refuses fleetkit's user (${answer.status})`, 'fleet needs a v2 user that may read and write /_coreos.com/fleet');
        if (answer.headers['x-etcd-index'] === undefined) {
          return fail(`etcd ${session.facts.version} at ${session.facts.url} does not serve the v2 API that fleet needs (GET /v2/keys/ answered ${answer.status})`,
            'start the etcd members with --enable-v2=true (ETCD_ENABLE_V2=true); fleetkit cloud-config does');
        }
        return ok(`etcd ${session.facts.version} serves the v2 API that fleet needs`);
      },
    },
  ];
}

function parseVersionBody(body: string): string | undefined {
  try {
    const v = (JSON.parse(body) as { etcdserver?: unknown }).etcdserver;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
