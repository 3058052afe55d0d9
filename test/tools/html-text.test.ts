import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntities, htmlToText } from '../../src/tools/html-text.ts';

test('scripts, styles, comments and tags go; block structure stays as lines', () => {
  const html = `<html><head><meta charset="utf-8"><title> My  page </title><style>.a{}</style></head>
  <body><!-- hidden <p>comment</p> --><nav>Home | About</nav><article><h2>News</h2><p>First <b>bold</b> line.<br>Second line.</p>
  <noscript>enable JS</noscript><svg><text>chart</text></svg><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>
  <img src="x.png" alt="a cat"><script type="module">const s = "</p>";</script></article></body></html>`;
  assert.deepEqual(htmlToText(html), {
    title: 'My page',
    text: 'Home | About\n\nNews\n\nFirst bold line.\nSecond line.\n\nk | v\na | 1\n\n[image: a cat]',
  });
});

test('entities: named, decimal, hex; unknown ones stay as written', () => {
  assert.equal(decodeEntities('&lt;a&gt; &amp;amp; &quot;q&quot; &#39;s&#39; &#x20AC;5 &#8212; &hellip; &Uuml;ber &bogus; &#0;'), '<a> &amp; "q" \'s\' €5 — … Über &bogus; \uFFFD');
});

test('a bare "<" in text survives, markup after it is still removed', () => {
  assert.equal(htmlToText('<p>1 < 2 and 3 <b>></b> 2</p>').text, '1 < 2 and 3 > 2');
});

test('hostile markup costs linear time, not quadratic', () => {
  const t0 = performance.now();
  for (const s of ['<'.repeat(200_000), '<script>'.repeat(50_000), '<!--'.repeat(100_000), '<a'.repeat(100_000), '</title <title>'.repeat(20_000)]) htmlToText(s);
  // Quadratic handling of any of these takes minutes.
  assert.ok(performance.now() - t0 < 5000);
});
