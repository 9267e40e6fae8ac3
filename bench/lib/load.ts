/**
 * The closed-loop load generator: `concurrency` virtual clients, each issuing its next request as soon as
 * the previous one answered, for a fixed duration or a fixed number of operations (whichever is given).
 * Latency is measured per operation from the client's side (so it includes this process's own queueing).
 */
export interface LoadOptions {
  readonly concurrency: number;
  /** Stop starting operations after this many milliseconds. */
  readonly durationMs?: number;
  /** Stop after this many operations in total. */
  readonly count?: number;
  /** Stop early once more operations than this have failed (a broken flow need not run its full time). */
  readonly maxErrors?: number;
}

export interface LoadResult {
  readonly ok: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Milliseconds per successful operation, sorted ascending. */
  readonly latencies: Float64Array;
  readonly firstError: string | undefined;
}

export async function runLoad(options: LoadOptions, operation: (client: number) => Promise<void>): Promise<LoadResult> {
  if (options.durationMs === undefined && options.count === undefined) throw new TypeError('give durationMs or count');
  const deadline = options.durationMs === undefined ? Infinity : performance.now() + options.durationMs;
  const budget = options.count ?? Infinity;
  const maxErrors = options.maxErrors ?? Infinity;
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const client = async (id: number): Promise<void> => {
    while (started < budget && errors <= maxErrors && performance.now() < deadline) {
      started += 1;
      const begin = performance.now();
      try {
        await operation(id);
        latencies.push(performance.now() - begin);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => client(i)));
  const elapsedMs = performance.now() - t0;
  return { ok: latencies.length, errors, elapsedMs, latencies: Float64Array.from(latencies).sort(), firstError };
}

export function perSecond(r: { ok: number; elapsedMs: number }): number {
  return r.elapsedMs > 0 ? (r.ok * 1000) / r.elapsedMs : 0;
}

/** The p-th percentile (0..100) of ascending values, nearest-rank. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export interface Summary {
  readonly perSecond: number;
  readonly elapsedMs: number;
  readonly ok: number;
  readonly errors: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly firstError: string | undefined;
}

export function summarize(r: LoadResult): Summary {
  return {
    perSecond: perSecond(r),
    elapsedMs: r.elapsedMs,
    ok: r.ok,
    errors: r.errors,
    p50: percentile(r.latencies, 50),
    p95: percentile(r.latencies, 95),
    p99: percentile(r.latencies, 99),
    firstError: r.firstError,
  };
}
