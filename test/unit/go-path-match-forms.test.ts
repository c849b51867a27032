/**
 * goPathMatch answers plain and one-star patterns without Go's general walk (placement asks thousands of
 * pairs). Those answers must be Go's: checked against the fleet test server's own, separately written
 * path.Match, over every pattern and name of a small alphabet that has the separator and the star.
 */
import t from 'tap';
import { goPathMatch } from '../../src/unit/go-path-match.js';
import { goPathMatch as oracle } from '../fleet-server/go-text.js';

/** Every string over `alphabet` of length 0 to `max`. */
function* strings(alphabet: readonly string[], max: number): Generator<string> {
  yield '';
  let level = [''];
  for (let n = 1; n <= max; n++) {
    const next: string[] = [];
    for (const s of level) for (const c of alphabet) next.push(s + c);
    yield* next;
    level = next;
  }
}

t.test('plain and starred patterns agree with Go over every short pattern and name', async (t) => {
  const names = [...strings(['a', '@', '/', '.'], 4)];
  let checked = 0;
  let matched = 0;
  const wrong: string[] = [];
  for (const p of strings(['a', '@', '/', '*'], 4)) {
    for (const n of names) {
      const want = oracle(p, n);
      if (goPathMatch(p, n) !== want) wrong.push(`${JSON.stringify(p)} ~ ${JSON.stringify(n)}: want ${want}`);
      checked++;
      if (want) matched++;
    }
  }
  t.same(wrong.slice(0, 10), [], `${checked} pairs`);
  t.ok(matched > 1000, `the set has matches to get wrong (${matched})`);
});

t.test('the forms fleetkit renders, and the ones left to the walk', async (t) => {
  t.equal(goPathMatch('web@*.service', 'web@12.service'), true);
  t.equal(goPathMatch('web@*.service', 'web-discovery@1.service'), false);
  t.equal(goPathMatch('web@*.service', 'web@.service'), true, 'the star matches an empty run');
  t.equal(goPathMatch('web@*.service', 'web@a/b.service'), false, 'not across a slash');
  t.equal(goPathMatch('web@?.service', 'web@1.service'), true);
  t.equal(goPathMatch('web@[0-9].service', 'web@x.service'), false);
  t.equal(goPathMatch('web@[.service', 'web@[.service'), false, 'a malformed pattern matches nothing, even itself');
});
