/** The results table: one row per figure, its baseline from the same run, the target and the verdict. */
import type { CpuSplit } from './cpu.ts';
import type { Summary } from './load.ts';

export interface Row {
  readonly section: string;
  readonly name: string;
  readonly value: string;
  readonly latency?: string;
  readonly baseline?: string;
  readonly target?: string;
  /** undefined: a baseline or information row, no target. */
  readonly met?: boolean;
  readonly cpu?: CpuSplit;
  /** PostgreSQL write transactions per operation. */
  readonly writes?: number | undefined;
  /** Operations per second, to turn the measured process's cores into CPU milliseconds per operation. */
  readonly perSecond?: number;
}

export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
export const ms = (n: number): string =>
  Number.isFinite(n) ? (n < 0.1 ? n.toFixed(3) : n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : n.toFixed(0)) : 'n/a';
export const pct = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(0)} %` : 'n/a');
export const rate = (s: Summary): string => `${int(s.perSecond)}/s${s.errors > 0 ? ` (${s.errors} errors)` : ''}`;
export const latency = (s: Summary): string => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}`;
export const cores = (c: CpuSplit | undefined): string =>
  c ? `${c.server.toFixed(2)} / ${c.postgres.toFixed(2)} / ${c.bench.toFixed(2)} / ${c.other.toFixed(2)}` : '';

export function renderTable(rows: readonly Row[]): string {
  const header = ['benchmark', 'result', 'p50 / p95 / p99 ms', 'baseline (same run)', 'target', 'met', 'cores srv / pg / bench / other', 'srv CPU ms/op', 'pg writes/op'];
  const body = rows.map((r) => [
    r.name,
    r.value,
    r.latency ?? '',
    r.baseline ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    cores(r.cpu),
    r.cpu && r.perSecond && r.cpu.server > 0 ? ms((1000 * r.cpu.server) / r.perSecond) : '',
    r.writes === undefined ? '' : r.writes.toFixed(r.writes < 0.1 ? 4 : 1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = [line(header), rule];
  let section = '';
  for (const [i, r] of rows.entries()) {
    if (r.section !== section) {
      section = r.section;
      out.push(line([`** ${section}`, ...header.slice(1).map(() => '')]));
    }
    out.push(line(body[i] ?? []));
  }
  return out.join('\n');
}
