/** Random stream, default write mode (rename): the reader never sees a partial file. */
import t from 'tap';
import { randomStream } from './random-stream.js';

t.test('random stream of 1,000 announcements (rename)', (t) => randomStream(t, 'rename', 3000));
