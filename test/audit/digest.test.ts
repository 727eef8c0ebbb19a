import { createHash } from 'node:crypto';
import t from 'tap';
import { digest } from '../../src/audit/digest.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

t.test('well-formed values keep their RFC 8785 digest, so existing chains still verify', async (t) => {
  t.equal(digest({ b: [1, 'é', null], a: 'x\u{1F600}' }), sha256('{"a":"x\u{1F600}","b":[1,"é",null]}'));
  t.equal(digest('plain'), sha256('"plain"'));
});

t.test('a lone surrogate does not make the digest throw: it is digested as U+FFFD, as the database stores it', async (t) => {
  t.equal(digest({ sender_id: 'a\ud800b' }), digest({ sender_id: 'a\ufffdb' }));
  t.equal(digest({ ['k\udc00']: ['\udbff'] }), digest({ ['k\ufffd']: ['\ufffd'] }));
  // A well-formed pair next to the lone one is kept.
  t.equal(digest(['\ud83d\ude00\ud800']), digest(['\u{1F600}\ufffd']));
});
