// Markdown → Telegram HTML and the 4096-character split. The HTML is checked
// with the same strict checker the emulator proxy uses for Telegram's rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { htmlToText, markdownToHtml } from '../../src/dialogs/telegram/markdown.ts';
import { splitMarkdown } from '../../src/dialogs/telegram/split.ts';
import { checkTelegramHtml } from '../helpers/telegram-html.ts';

function valid(md: string): string {
  const html = markdownToHtml(md);
  const c = checkTelegramHtml(html);
  assert.ok(c.ok, `invalid Telegram HTML for ${JSON.stringify(md)}: ${!c.ok && c.error}\n${html}`);
  return html;
}

describe('markdown to Telegram HTML', () => {
  it('renders bold, italic, strikethrough, code, links and headings', () => {
    assert.equal(valid('**bold** and *it* and _it2_ and ~~gone~~'), '<b>bold</b> and <i>it</i> and <i>it2</i> and <s>gone</s>');
    assert.equal(valid('use `a < b && c` here'), 'use <code>a &lt; b &amp;&amp; c</code> here');
    assert.equal(valid('[the docs](https://example.com/a?b=1&c="2")'), '<a href="https://example.com/a?b=1&amp;c=&quot;2&quot;">the docs</a>');
    assert.equal(valid('## Title **x**'), '<b>Title x</b>');
    assert.equal(valid('*see [**the** docs](https://a.b/c_d)*'), '<i>see <a href="https://a.b/c_d">the docs</a></i>');
    assert.equal(valid('- one\n* two'), '• one\n• two');
    assert.equal(valid('> quoted *words*\n> more'), '<blockquote>quoted <i>words</i>\nmore</blockquote>');
  });

  it('escapes &, < and > everywhere else, including things that look like tags', () => {
    assert.equal(valid('if a<b & c>d then <script>x</script>'), 'if a&lt;b &amp; c&gt;d then &lt;script&gt;x&lt;/script&gt;');
    assert.equal(valid('&amp; stays visible'), '&amp;amp; stays visible');
  });

  it('renders fenced code with its language and escapes it', () => {
    assert.equal(valid('```python\nif a < b:\n    print("<&>")\n```'), '<pre><code class="language-python">if a &lt; b:\n    print("&lt;&amp;&gt;")</code></pre>');
    assert.equal(valid('```\nplain\n```'), '<pre>plain</pre>');
  });

  it('keeps snake_case, lone asterisks and unclosed markers literal', () => {
    assert.equal(valid('my_var_name = 2 * 3 * 4'), 'my_var_name = 2 * 3 * 4');
    assert.equal(valid('**not closed'), '**not closed');
    assert.equal(valid('a *b **c* d**'), 'a *b <b>c* d</b>'); // crossing markers: one pair wins, the other stays literal
    assert.equal(valid('***both***'), '<b><i>both</i></b>');
  });

  it('renders half-streamed text (an open code block runs to the end)', () => {
    assert.equal(valid('Here:\n```js\nconst a = 1 <'), 'Here:\n<pre><code class="language-js">const a = 1 &lt;</code></pre>');
    assert.equal(valid('some **bo'), 'some **bo');
  });

  it('always produces HTML Telegram accepts, whatever the input', () => {
    const bits = ['**', '*', '_', '__', '~~', '`', '```', '```py\n', '[x](https://a.b)', '[**y**](http://q.r/a_b)', '[', ']', '(', ')', '<', '>', '&', '#', '> ', '- ', '\n', '\n\n', ' ', 'word', 'snake_case', '|a|b|', '\\*', '😀', 'x'.repeat(40)];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 2000; n++) {
      let md = '';
      const len = 1 + Math.floor(rnd() * 60);
      for (let i = 0; i < len; i++) md += bits[Math.floor(rnd() * bits.length)];
      valid(md);
      for (const piece of splitMarkdown(md, 256)) {
        assert.ok(piece.length <= 256);
        valid(piece);
      }
    }
  });

  it('never makes the visible text longer than the markdown', () => {
    for (const md of ['**a** & <b> `c` [l](https://x.y) ~~s~~', '```\n<&>\n```', '# h\n- i\n> q']) {
      assert.ok(htmlToText(markdownToHtml(md)).length <= md.length, md);
    }
  });
});

describe('splitting long answers', () => {
  it('leaves short text whole', () => {
    assert.deepEqual(splitMarkdown('hello'), ['hello']);
    assert.deepEqual(splitMarkdown(''), []);
  });

  it('cuts on paragraph boundaries, in order, each piece within the limit', () => {
    const paras = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: ${'word '.repeat(40).trim()}.`);
    const text = paras.join('\n\n');
    const pieces = splitMarkdown(text, 1000);
    assert.ok(pieces.length > 1);
    for (const p of pieces) {
      assert.ok(p.length <= 1000, `piece of ${p.length}`);
      assert.match(p, /^Paragraph \d+:/, 'each piece starts at a paragraph');
      assert.match(p, /\.$/, 'each piece ends at a paragraph end');
    }
    assert.equal(pieces.join('\n\n'), text);
  });

  it('closes a code block cut in two and reopens it with its language', () => {
    const code = Array.from({ length: 200 }, (_, i) => `line_${i} = ${i} * 2`).join('\n');
    const text = `Intro.\n\n\`\`\`python\n${code}\n\`\`\`\n\nOutro.`;
    const pieces = splitMarkdown(text, 1000);
    assert.ok(pieces.length > 2);
    for (const p of pieces) {
      assert.ok(p.length <= 1000);
      const fences = p.split('\n').filter((l) => l.startsWith('```')).length;
      assert.equal(fences % 2, 0, `unbalanced fences in piece:\n${p}`);
      valid(p);
    }
    assert.match(pieces[1]!, /^```python\n/);
    const lines = pieces.join('\n').split('\n').filter((l) => l.startsWith('line_'));
    assert.equal(lines.length, 200, 'no code line lost or doubled');
  });

  it('hard-cuts a single endless line and keeps emoji whole', () => {
    const text = '😀'.repeat(3000);
    const pieces = splitMarkdown(text, 1000);
    for (const p of pieces) {
      assert.ok(p.length <= 1000);
      assert.ok(!/[\ud800-\udbff]$/.test(p), 'no lone high surrogate at a cut');
    }
    assert.equal(pieces.join(''), text);
  });

  it('keeps earlier pieces stable while the text grows (streaming)', () => {
    const full = Array.from({ length: 30 }, (_, i) => `Part ${i}. ${'x'.repeat(150)}`).join('\n\n');
    const final = splitMarkdown(full, 1000);
    for (let cut = 1200; cut < full.length; cut += 137) {
      const partial = splitMarkdown(full.slice(0, cut), 1000);
      for (let i = 0; i < partial.length - 1; i++) assert.equal(partial[i], final[i], `piece ${i} moved at ${cut}`);
    }
  });
});
