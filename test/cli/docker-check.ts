/**
 * What docker itself says of a stop or start, for the stop/start tests: a container's state from `docker
 * inspect`, and the `docker events` of named containers between two moments.
 */
import type { DockerPart } from '../env/parts.js';

/** `docker inspect` of a container: its status (`running`, `exited`…, or `gone` when docker has no such container) and id. */
export async function containerState(d: DockerPart, name: string): Promise<{ state: string; id: string }> {
  const r = await d.docker(['inspect', '-f', '{{.State.Status}} {{.Id}}', name]);
  if (r.code !== 0) return { state: /No such (object|container)/i.test(r.stderr) ? 'gone' : `inspect failed: ${r.stderr.trim()}`, id: '' };
  const [state = '', id = ''] = r.stdout.trim().split(' ');
  return { state, id };
}

/** `docker events` of the containers `names` between two moments (ms since the epoch): `[ms, action, name]`, oldest first. */
export async function containerEvents(d: DockerPart, names: readonly string[], since: number, until: number): Promise<[number, string, string][]> {
  const r = await d.docker(['events', '--since', (since / 1000).toFixed(3), '--until', (until / 1000).toFixed(3), '--filter', 'type=container', '--format', '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}']);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([, , n]) => names.includes(n!)).map(([ns, action, n]) => [Number(BigInt(ns!) / 1_000_000n), action!, n!]);
}

/** How long each of `names` took from docker stop's `kill` to its `die` in `timeline`; undefined where either is missing. */
export function stopTimes(timeline: readonly [number, string, string][], names: readonly string[]): Map<string, { kill: number; die: number } | undefined> {
  return new Map(names.map((n) => {
    const kill = timeline.find(([, a, x]) => a === 'kill' && x === n);
    const die = timeline.find(([, a, x]) => a === 'die' && x === n);
    return [n, kill && die ? { kill: kill[0], die: die[0] } : undefined];
  }));
}

/** A container that no longer runs: exited, dead, being removed (`--rm`), or gone. */
export const isDown = (state: string): boolean => ['exited', 'dead', 'removing', 'gone'].includes(state);
