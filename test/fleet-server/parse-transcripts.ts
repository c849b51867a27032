/**
 * Reads the recorded fleetd v1.0.0 conversations in ./transcripts into exchanges the table test replays.
 */
import { readFileSync } from 'node:fs';

/** One recorded request and fleetd's answer (`crashed`: the connection closed without a reply). */
export interface Exchange {
  readonly source: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly status?: number;
  readonly statusText?: string;
  readonly responseHeaders?: Readonly<Record<string, string>>;
  readonly responseBody?: string;
  readonly crashed: boolean;
}

const dir = new URL('./transcripts/', import.meta.url);

/** Reads one transcript file. */
export function readTranscript(file: string): string {
  return readFileSync(new URL(file, dir), 'utf8');
}

function pathOf(url: string): string {
  const u = new URL(url, 'http://x');
  return u.pathname + u.search;
}

/** Parses the `###` curl blocks of api-transcript1/-errors/-patch. */
export function parseCurlBlocks(file: string): Exchange[] {
  const text = readTranscript(file).replace(/\r/g, '');
  const out: Exchange[] = [];
  for (const block of text.split(/^### /m).slice(1)) {
    const lines = block.split('\n');
    const m = /^(?:curl -X )?(\S+) (\S+)(?: -H (.+?))?(?: -d (.*))?$/.exec(lines[0] ?? '');
    if (!m) throw new Error(`${file}: cannot read request line ${lines[0]}`);
    const [, method = '', url = '', h, d] = m;
    const headers: Record<string, string> = {};
    if (h) {
      const i = h.indexOf(':');
      headers[h.slice(0, i)] = h.slice(i + 1).trim();
    } else if (d !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded'; // what curl -d sends by default
    }
    const statusAt = lines.findIndex((l) => l.startsWith('HTTP/1.1 '));
    const base = { source: `${file}: ${lines[0]}`, method, path: pathOf(url), headers, body: d };
    if (statusAt < 0) {
      out.push({ ...base, crashed: true });
      continue;
    }
    const sm = /^HTTP\/1\.1 (\d+) (.*)$/.exec(lines[statusAt] ?? '');
    const responseHeaders: Record<string, string> = {};
    let i = statusAt + 1;
    for (; i < lines.length && lines[i] !== ''; i++) {
      const l = lines[i] ?? '';
      responseHeaders[l.slice(0, l.indexOf(':'))] = l.slice(l.indexOf(':') + 1).trim();
    }
    const bodyLines: string[] = [];
    for (i++; i < lines.length; i++) {
      const l = lines[i] ?? '';
      if (l.startsWith(' [curl rc=') || l === '') break;
      bodyLines.push(l);
    }
    out.push({ ...base, status: Number(sm?.[1]), statusText: sm?.[2] ?? '', responseHeaders, responseBody: bodyLines.join('\n'), crashed: false });
  }
  return out;
}

/** Parses api-transcript-paging.txt: `GET url` lines, each followed by the body fleetd sent. */
export function parsePaging(file: string): Exchange[] {
  const lines = readTranscript(file).split('\n');
  const out: Exchange[] = [];
  lines.forEach((l, i) => {
    const m = /^GET (\S+)$/.exec(l);
    if (m) out.push({ source: `${file}: ${l}`, method: 'GET', path: pathOf(m[1] ?? ''), headers: {}, body: undefined, status: 200, responseBody: lines[i + 1] ?? '', crashed: false });
  });
  return out;
}

/** Parses fleetctl-http-proxy.log: `>>> METHOD PATH CT=… UA=…` [body] / `<<< STATUS` [body]. */
export function parseProxyLog(file: string): Exchange[] {
  const lines = readTranscript(file).split('\n');
  const out: Exchange[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^>>> (\S+) (\S+) CT=(\S+) UA=(.*)$/.exec(lines[i] ?? '');
    if (!m) continue;
    const [, method = '', path = '', ct = 'None', ua = ''] = m;
    const body = lines[i + 1] ? lines[i + 1] : undefined;
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').startsWith('<<< ')) j++;
    const status = Number((lines[j] ?? '').slice(4));
    const headers: Record<string, string> = { 'User-Agent': ua };
    if (ct !== 'None') headers['Content-Type'] = ct;
    out.push({ source: `${file}:${i + 1} ${method} ${path}`, method, path, headers, body, status, responseBody: lines[j + 1] ?? '', crashed: false });
    i = j;
  }
  return out;
}
