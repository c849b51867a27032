/** Random stream, --keep-inode (in place): the file ends equal to etcd and never goes missing. */
import t from 'tap';
import { randomStream } from './random-stream.js';

t.test('random stream of 1,000 announcements (in-place)', (t) => randomStream(t, 'in-place', 2000));
