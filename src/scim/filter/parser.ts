/**
 * A recursive-descent parser for the whole filter grammar of RFC 7644 §3.4.2.2: attribute expressions
 * (eq ne co sw ew gt ge lt le pr), and/or/not with the RFC's precedence (not > and > or), parentheses,
 * and value paths (`emails[type eq "work" and value co "@acme.com"]`). Operators and logical words are
 * case-insensitive. Hostile input is bounded: length, nesting depth and number of expressions.
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.4.2.2
 */
import { invalidFilter } from '../errors.ts';
import { COMPARE_OPS, type CompareOp, type CompValue, type Filter } from './ast.ts';
import { tokenize, type Token } from './lexer.ts';

export const FILTER_LIMITS = {
  /** Characters. Entra and Okta filters are well under 300. */
  maxLength: 4096,
  /** Parentheses, brackets and `not` nested at most this deep. */
  maxDepth: 16,
  /** Attribute expressions at most. */
  maxExpressions: 64,
} as const;

const ATTR_PATH = /^(?:urn:[A-Za-z0-9_.:-]+:)?\$?[A-Za-z][\w-]*(?:\.\$?[A-Za-z][\w-]*)?$/i;

class Parser {
  readonly #tokens: Token[];
  #pos = 0;
  #depth = 0;
  #expressions = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  parse(): Filter {
    const filter = this.#or(false);
    const extra = this.#peek();
    if (extra) throw invalidFilter(`unexpected ${describe(extra)} at position ${extra.at}`);
    return filter;
  }

  #peek(offset = 0): Token | undefined {
    return this.#tokens[this.#pos + offset];
  }

  #next(): Token | undefined {
    const t = this.#tokens[this.#pos];
    this.#pos += 1;
    return t;
  }

  #isWord(t: Token | undefined, word: string): boolean {
    return t?.type === 'word' && t.text.toLowerCase() === word;
  }

  #expect(type: '(' | ')' | ']'): void {
    const t = this.#next();
    if (t?.type !== type) throw invalidFilter(t ? `expected "${type}" at position ${t.at}` : `expected "${type}" at the end`);
  }

  #nest<T>(f: () => T): T {
    this.#depth += 1;
    if (this.#depth > FILTER_LIMITS.maxDepth) throw invalidFilter(`the filter nests deeper than ${FILTER_LIMITS.maxDepth} levels`);
    try {
      return f();
    } finally {
      this.#depth -= 1;
    }
  }

  #or(inValuePath: boolean): Filter {
    let left = this.#and(inValuePath);
    while (this.#isWord(this.#peek(), 'or')) {
      this.#next();
      left = { kind: 'or', left, right: this.#and(inValuePath) };
    }
    return left;
  }

  #and(inValuePath: boolean): Filter {
    let left = this.#unary(inValuePath);
    while (this.#isWord(this.#peek(), 'and')) {
      this.#next();
      left = { kind: 'and', left, right: this.#unary(inValuePath) };
    }
    return left;
  }

  #unary(inValuePath: boolean): Filter {
    const t = this.#peek();
    if (this.#isWord(t, 'not') && this.#peek(1)?.type === '(') {
      this.#next();
      return this.#nest(() => ({ kind: 'not', filter: this.#group(inValuePath) }));
    }
    if (t?.type === '(') return this.#nest(() => this.#group(inValuePath));
    return this.#attributeExpression(inValuePath);
  }

  #group(inValuePath: boolean): Filter {
    this.#expect('(');
    const inner = this.#or(inValuePath);
    this.#expect(')');
    return inner;
  }

  #attributeExpression(inValuePath: boolean): Filter {
    const t = this.#next();
    if (t?.type !== 'word') throw invalidFilter(t ? `expected an attribute at position ${t.at}, found ${describe(t)}` : 'the filter ends too early');
    if (!ATTR_PATH.test(t.text)) throw invalidFilter(`"${clip(t.text)}" is not an attribute path`);
    this.#expressions += 1;
    if (this.#expressions > FILTER_LIMITS.maxExpressions) throw invalidFilter(`the filter has more than ${FILTER_LIMITS.maxExpressions} expressions`);
    const path = t.text;
    if (this.#peek()?.type === '[') {
      if (inValuePath) throw invalidFilter(`value paths cannot nest (position ${this.#peek()?.at ?? t.at})`);
      this.#next();
      const filter = this.#nest(() => this.#or(true));
      this.#expect(']');
      return { kind: 'valuePath', path, filter };
    }
    const opToken = this.#next();
    if (opToken?.type !== 'word') throw invalidFilter(opToken ? `expected an operator at position ${opToken.at}` : `"${clip(path)}" has no operator`);
    const op = opToken.text.toLowerCase();
    if (op === 'pr') return { kind: 'present', path };
    if (!(COMPARE_OPS as readonly string[]).includes(op)) throw invalidFilter(`unknown operator "${clip(opToken.text)}" at position ${opToken.at}`);
    return { kind: 'compare', path, op: op as CompareOp, value: this.#value() };
  }

  #value(): CompValue {
    const t = this.#next();
    if (!t) throw invalidFilter('a comparison has no value');
    if (t.type === 'string' || t.type === 'number') return t.value;
    if (t.type === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    throw invalidFilter(`expected a value (a quoted string, number, true, false or null) at position ${t.at}`);
  }
}

function describe(t: Token): string {
  if (t.type === 'word') return `"${clip(t.text)}"`;
  if (t.type === 'string') return 'a string';
  if (t.type === 'number') return 'a number';
  return `"${t.type}"`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export function parseFilter(input: string): Filter {
  if (input.length > FILTER_LIMITS.maxLength) throw invalidFilter(`the filter is longer than ${FILTER_LIMITS.maxLength} characters`);
  const tokens = tokenize(input);
  if (tokens.length === 0) throw invalidFilter('the filter is empty');
  return new Parser(tokens).parse();
}
