// The prompt of an OpenAI-style JSON request body as one string, in the order the model server reads it: what prefix
// affinity hashes. Bodies are those read ahead before the pick (proxy/body.ts), so they are bounded already.
//
// Shapes read (a body of another shape has no prompt, and goes without affinity):
//  - /v1/chat/completions: `messages[]`, each `role` then `content` (a string, or parts: `text` of text parts, the
//    URL or data of image / audio parts, so that two requests with different images do not look alike);
//  - /v1/completions: `prompt` as a string, token ids, or a batch (its first prompt);
//  - SGLang's /generate `text`, TGI's /generate `inputs` (strings).
// `model` seeds the hash: two models never share a server's cache (as the Inference Extension's prefix scorer does).

export interface Prompt {
  readonly model: string;
  readonly text: string;
}

/** Separates fields so that ["ab", "c"] and ["a", "bc"] differ; never in JSON text a client sends raw. */
const SEP = '\u0000';

/**
 * The prompt of `body`, at most `maxChars` long (the rest cannot change the blocks hashed), or null: not JSON, not an
 * object, or no prompt field of a known shape.
 */
export function promptOf(body: Buffer, maxChars: number): Prompt | null {
  if (!looksLikeJsonObject(body)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const o = doc as Record<string, unknown>;
  const model = typeof o.model === 'string' ? o.model : '';
  const out = new Text(maxChars);
  if (Array.isArray(o.messages)) messages(o.messages, out);
  else if (o.prompt !== undefined) completionPrompt(o.prompt, out);
  else if (typeof o.text === 'string') out.add(o.text);
  else if (typeof o.inputs === 'string') out.add(o.inputs);
  else return null;
  return out.empty ? null : { model, text: out.value() };
}

/** The first non-blank byte is `{`: skips the parse of bodies that cannot be a request object (binary tensors, forms). */
function looksLikeJsonObject(body: Buffer): boolean {
  for (let i = 0; i < body.length && i < 64; i++) {
    const c = body[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b;
  }
  return false;
}

function messages(list: readonly unknown[], out: Text): void {
  for (const m of list) {
    if (out.full) return;
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    out.add(typeof msg.role === 'string' ? msg.role : '');
    out.add(SEP);
    const content = msg.content;
    if (typeof content === 'string') out.add(content);
    else if (Array.isArray(content)) for (const part of content) contentPart(part, out);
    out.add(SEP);
  }
}

function contentPart(part: unknown, out: Text): void {
  if (typeof part !== 'object' || part === null) return;
  const p = part as Record<string, unknown>;
  if (typeof p.text === 'string') {
    out.add(p.text);
    return;
  }
  // image_url: { url }, input_audio: { data }: what makes two such parts differ.
  for (const value of Object.values(p)) {
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    const id = typeof v.url === 'string' ? v.url : typeof v.data === 'string' ? v.data : null;
    if (id !== null) out.add(id);
  }
  out.add(SEP);
}

function completionPrompt(prompt: unknown, out: Text): void {
  if (typeof prompt === 'string') out.add(prompt);
  else if (Array.isArray(prompt) && prompt.length > 0) {
    const first: unknown = prompt[0];
    // A batch (strings, or lists of token ids): the first prompt is the key; a list of numbers is one prompt in tokens.
    if (typeof first === 'string') out.add(first);
    else if (typeof first === 'number') tokens(prompt, out);
    else if (Array.isArray(first)) tokens(first, out);
  }
}

function tokens(ids: readonly unknown[], out: Text): void {
  for (const id of ids) {
    if (out.full) return;
    if (typeof id === 'number') out.add(`${id},`);
  }
}

/** A string built up to a length, then ignoring the rest (a long prompt costs no more than maxChars). */
class Text {
  readonly #max: number;
  #parts: string[] = [];
  #length = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get full(): boolean {
    return this.#length >= this.#max;
  }

  get empty(): boolean {
    return this.#length === 0;
  }

  add(s: string): void {
    if (this.full || s.length === 0) return;
    const room = this.#max - this.#length;
    const part = s.length > room ? s.slice(0, room) : s;
    this.#parts.push(part);
    this.#length += part.length;
  }

  value(): string {
    return this.#parts.join('');
  }
}
