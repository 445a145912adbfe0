// affinity/prompt.ts: the prompt of OpenAI-style bodies (chat messages, completions), in reading order, bounded.
import { describe, expect, it } from 'vitest';
import { promptOf } from '../../src/affinity/prompt.js';

const body = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const S = '\u0000';

describe('promptOf', () => {
  it.each([
    ['completion string', { model: 'm', prompt: 'hello world' }, 'hello world'],
    ['completion batch: its first prompt', { model: 'm', prompt: ['first', 'second'] }, 'first'],
    ['completion in token ids', { model: 'm', prompt: [1, 22, 333] }, '1,22,333,'],
    ['completion batch of token ids', { model: 'm', prompt: [[7, 8], [9]] }, '7,8,'],
    ['chat, content strings: role then content', { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }, `system${S}be brief${S}user${S}hi${S}`],
    ['chat, content parts: text, and the image URL', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is' }, { type: 'image_url', image_url: { url: 'http://x/a.png' } }] }] }, `user${S}what ishttp://x/a.png${S}${S}`],
    ['SGLang /generate text', { text: 'abc' }, 'abc'],
    ['TGI /generate inputs', { inputs: 'abc', parameters: {} }, 'abc'],
  ])('%s', (_name, doc, text) => {
    expect(promptOf(body(doc), 10_000)?.text).toBe(text);
  });

  it('the model seeds the key; absent, it is empty', () => {
    expect(promptOf(body({ model: 'llama', prompt: 'x' }), 100)?.model).toBe('llama');
    expect(promptOf(body({ prompt: 'x' }), 100)?.model).toBe('');
  });

  it('stops at maxChars however long the prompt or the conversation', () => {
    expect(promptOf(body({ prompt: 'a'.repeat(1000) }), 10)?.text).toBe('a'.repeat(10));
    const messages = Array.from({ length: 100 }, (_, i) => ({ role: 'user', content: `turn ${i}` }));
    expect(promptOf(body({ messages }), 20)?.text).toHaveLength(20);
  });

  it.each([
    ['not JSON', Buffer.from('prompt=hello')],
    ['broken JSON', Buffer.from('{"prompt": "x"')],
    ['a JSON array', Buffer.from('["x"]')],
    ['no prompt field', body({ model: 'm', input: 'embed me' })],
    ['an empty prompt', body({ prompt: '' })],
    ['a binary body', Buffer.from([0x00, 0x01, 0x7b])],
  ])('no prompt: %s', (_name, b) => {
    expect(promptOf(b, 100)).toBeNull();
  });

  it('leading whitespace before the object is fine', () => {
    expect(promptOf(Buffer.from('  \n {"prompt":"x"}'), 100)?.text).toBe('x');
  });
});
