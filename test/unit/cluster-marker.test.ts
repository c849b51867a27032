// The cluster marker closes every rendered unit; it reads back from options and from raw text alike.
import t from 'tap';
import { clusterOf, clusterOfText } from '../../src/unit/cluster-marker.js';
import { parseUnit } from '../../src/unit/parse.js';
import { fleetHash } from '../../src/unit/hash.js';

t.test('clusterOf and clusterOfText agree, and only inside [X-Fleetkit]', async (t) => {
  const text = '[Service]\nExecStart=/bin/true\n\n[X-Fleetkit]\nCluster=web\n';
  const unit = parseUnit('a.service', text);
  t.equal(clusterOf(unit), 'web');
  t.equal(clusterOfText(text), 'web');
  t.equal(clusterOfText('[Service]\nCluster=web\n'), undefined, 'a Cluster= key elsewhere is not a marker');
  t.equal(clusterOf(parseUnit('a.service', '[Service]\nCluster=web\n')), undefined);
  t.not(fleetHash(unit), fleetHash(parseUnit('a.service', '[Service]\nExecStart=/bin/true\n')), 'the marker is part of what fleet stores');
});
