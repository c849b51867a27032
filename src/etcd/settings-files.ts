/**
 * The files that etcd's settings name: the TLS CA, client certificate and key, and the password file. Read
 * here only, for etcd3's client (`connect.ts`) and for doctor's plain HTTPS probes alike, so that a missing
 * or unreadable file reads the same wherever it is met. Imports nothing heavy: doctor starts without etcd3.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** Paths of the PEM files, as `etcd.tls` in cluster.yaml or `--etcd-ca/--etcd-cert/--etcd-key` give them. */
export interface EtcdTlsPaths {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** The PEM contents: the CA that signs the members, and an optional client certificate and key. */
export interface EtcdTlsPem {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

const SETTING: Readonly<Record<'ca' | 'cert' | 'key' | 'password', string>> = {
  ca: 'etcd.tls.ca (--etcd-ca)',
  cert: 'etcd.tls.cert (--etcd-cert)',
  key: 'etcd.tls.key (--etcd-key)',
  password: 'etcd.auth.passwordFile (--etcd-password-file)',
};

/** Reads one file named in the settings; a failure is a usage error that names the file and the setting. */
async function readSetting(path: string, what: keyof typeof SETTING): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read etcd ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      `check the path in ${SETTING[what]} and its permissions`);
  }
}

/**
 * The TLS files' contents, or undefined when no TLS file is set. A client certificate without the CA is
 * refused: the system's roots would then judge etcd's certificate, which no etcd cluster is signed by.
 */
export async function readEtcdTls(tls: EtcdTlsPaths | undefined): Promise<EtcdTlsPem | undefined> {
  if (!tls || !(tls.ca || tls.cert || tls.key)) return undefined;
  if (!tls.ca) throw new UsageError('etcd TLS needs a CA file (etcd.tls.ca)', 'set etcd.tls.ca (or --etcd-ca) to the CA that signed the etcd server certificate');
  // One after the other: with several files wrong, the message is always about the CA first.
  const ca = await readSetting(tls.ca, 'ca');
  const cert = tls.cert ? await readSetting(tls.cert, 'cert') : undefined;
  const key = tls.key ? await readSetting(tls.key, 'key') : undefined;
  return { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** The password from `passwordFile`, without its final line break. */
export async function readEtcdPassword(passwordFile: string): Promise<string> {
  return (await readSetting(passwordFile, 'password')).toString('utf8').replace(/\r?\n$/, '');
}
