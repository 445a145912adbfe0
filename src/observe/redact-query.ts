// Query parameters that carry secrets (`?api_key=…`, signed-URL signatures) have their value replaced before a URL is
// logged; everything else of the URL stays byte for byte.

export const REDACTED = 'REDACTED';

export class QueryRedactor {
  readonly #names: ReadonlySet<string>;

  /** `names` in lower case (config/normalise.ts lowers them). */
  constructor(names: readonly string[]) {
    this.#names = new Set(names);
  }

  /** The URL with the value of every listed parameter (any letter case, percent-encoded or not) replaced by REDACTED. */
  redact(url: string): string {
    const q = url.indexOf('?');
    // Most inference URLs have no query: no work beyond this scan.
    if (q === -1 || this.#names.size === 0) return url;
    let out: string | null = null;
    let copied = 0;
    let start = q + 1;
    while (start < url.length) {
      // `&`, and `;` which some stacks still split on (Python before 3.9.2, older Go): a secret behind either is found.
      let end = nextSeparator(url, start);
      const eq = url.indexOf('=', start);
      if (eq !== -1 && eq < end && eq + 1 < end && this.#names.has(paramName(url.slice(start, eq)))) {
        out = (out ?? '') + url.slice(copied, eq + 1) + REDACTED;
        copied = end;
      }
      start = end + 1;
    }
    return out === null ? url : out + url.slice(copied);
  }
}

/** The parameter's name as a server would read it: percent-decoded (`api%5Fkey`, `+` = space), lower case. */
function nextSeparator(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x26 /* & */ || c === 0x3b /* ; */) return i;
  }
  return url.length;
}

/** The parameter's name as servers read it: decoded, case-folded, without PHP / Rails array brackets (`api_key[]`). */
function paramName(raw: string): string {
  let name = raw.toLowerCase();
  if (raw.indexOf('%') !== -1 || raw.indexOf('+') !== -1) {
    try {
      name = decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase();
    } catch {
      // keep the raw name
    }
  }
  const bracket = name.indexOf('[');
  return bracket > 0 ? name.slice(0, bracket) : name;
}
