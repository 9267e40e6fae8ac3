/**
 * Tokens of a SCIM filter. Strings are JSON string literals (RFC 7644 §3.4.2.2 compValue), so escapes are
 * decoded by JSON.parse; nothing of the input ever reaches SQL text (filter/compile-sql.ts binds values).
 */
import { invalidFilter } from '../errors.ts';

export type Token =
  | { readonly type: '(' | ')' | '[' | ']'; readonly at: number }
  | { readonly type: 'word'; readonly text: string; readonly at: number }
  | { readonly type: 'string'; readonly value: string; readonly at: number }
  | { readonly type: 'number'; readonly value: number; readonly at: number };

/** Attribute paths (with URN prefixes and `$ref`), operators and the literals true/false/null. */
const WORD = /[A-Za-z0-9_:.$-]+/y;
// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters (RFC 8259 §7)
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_:.$-])/y;
const SPACE = /\s+/y;

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(input);
    return m?.[0];
  };
  while (i < input.length) {
    const space = match(SPACE);
    if (space) {
      i += space.length;
      continue;
    }
    const c = input[i] ?? '';
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ type: c, at: i });
      i += 1;
      continue;
    }
    if (c === '"') {
      const s = match(STRING);
      if (!s) throw invalidFilter(`unterminated or malformed string at position ${i}`);
      tokens.push({ type: 'string', value: JSON.parse(s) as string, at: i });
      i += s.length;
      continue;
    }
    const n = match(NUMBER);
    if (n) {
      tokens.push({ type: 'number', value: Number(n), at: i });
      i += n.length;
      continue;
    }
    const w = match(WORD);
    if (w) {
      tokens.push({ type: 'word', text: w, at: i });
      i += w.length;
      continue;
    }
    throw invalidFilter(`unexpected character at position ${i}`);
  }
  return tokens;
}
