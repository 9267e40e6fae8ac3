/**
 * Writes that travel inside another statement: each a list of data-modifying statements (INSERT, UPDATE or
 * DELETE, without a WITH of their own) that become CTEs of the statement carrying them. PostgreSQL runs every
 * data-modifying CTE exactly once and to completion, whether or not the main query reads it, and the whole
 * statement commits or fails as one: the carried writes cost no round trip and no commit of their own.
 *
 * The statements number their own parameters `$1`…`$n`; `asCtes` renumbers them after the carrier's. They
 * are fixed texts written by us: no `$` may appear inside a literal or identifier.
 *
 * One statement cannot change a row twice ("ON CONFLICT DO UPDATE command cannot affect row a second time"):
 * `keys` name the rows a write may update, and a carrier never takes two writes that share one.
 */
import { CompiledQuery } from 'kysely';

export interface CombinedWrite {
  readonly statements: readonly string[];
  readonly parameters: readonly unknown[];
  /** The rows it may update, one string per row (table and key); rows it only inserts need none. */
  readonly keys: readonly string[];
  /**
   * Every parameter is an array of rows (the statements read them with `unnest`): writes with the same
   * `statements` then merge into one (`mergeWrites`), whose text does not depend on how many were merged.
   */
  readonly arrays?: boolean;
}

const PARAMETER = /\$(\d+)/g;

/** Renumbered texts, per statement text and offset: the same few writes at the same few offsets recur. */
const renumbered = new Map<string, Map<number, string>>();
const MAX_RENUMBERED = 1024;

/** `statement` with its parameters numbered from `base + 1`. */
function renumber(statement: string, base: number): string {
  let byBase = renumbered.get(statement);
  if (!byBase) {
    if (renumbered.size >= MAX_RENUMBERED) renumbered.clear();
    byBase = new Map();
    renumbered.set(statement, byBase);
  }
  let text = byBase.get(base);
  if (text === undefined) {
    text = statement.replace(PARAMETER, (_, n: string) => `$${base + Number(n)}`);
    if (byBase.size < MAX_RENUMBERED) byBase.set(base, text);
  }
  return text;
}

/**
 * The writes as CTEs named `<prefix><write>_<statement>` (`name as (…)`, comma-separated by the caller),
 * their parameters numbered from `offset + 1`, in order.
 */
export function asCtes(writes: readonly CombinedWrite[], offset: number, prefix: string): { readonly ctes: string[]; readonly parameters: unknown[] } {
  const ctes: string[] = [];
  const parameters: unknown[] = [];
  writes.forEach((write, w) => {
    const base = offset + parameters.length;
    write.statements.forEach((statement, s) => {
      ctes.push(`${prefix}${w}_${s} as (${renumber(statement, base)})`);
    });
    parameters.push(...write.parameters);
  });
  return { ctes, parameters };
}

/**
 * The writes, with those of the same array-shaped statements merged into one (their parameter arrays
 * concatenated, in order): one statement text however many sign-ins a batch carries. The caller keeps writes
 * that share a row key apart (`overlaps`): merged rows still go through one statement.
 */
export function mergeWrites(writes: readonly CombinedWrite[]): CombinedWrite[] {
  const merged: CombinedWrite[] = [];
  const byStatements = new Map<readonly string[], { parameters: unknown[][]; keys: string[] }>();
  for (const write of writes) {
    const into = write.arrays ? byStatements.get(write.statements) : undefined;
    if (into) {
      write.parameters.forEach((values, i) => into.parameters[i]?.push(...(values as unknown[])));
      into.keys.push(...write.keys);
      continue;
    }
    if (!write.arrays) {
      merged.push(write);
      continue;
    }
    const parameters = write.parameters.map((values) => [...(values as unknown[])]);
    const keys = [...write.keys];
    byStatements.set(write.statements, { parameters, keys });
    merged.push({ statements: write.statements, parameters, keys, arrays: true });
  }
  return merged;
}

/** The write on its own: its statements as CTEs of one statement. */
export function standalone(write: CombinedWrite): CompiledQuery {
  const { ctes, parameters } = asCtes([write], 0, 'w');
  return CompiledQuery.raw(`with ${ctes.join(',\n')}\nselect 1`, parameters);
}

/** Whether `write` may update a row of `keys`. */
export function overlaps(keys: ReadonlySet<string>, write: CombinedWrite): boolean {
  return write.keys.some((key) => keys.has(key));
}
