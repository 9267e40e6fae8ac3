/**
 * The argon2id bound: password hashes per second at the production parameters (ARGON2_PARAMS), with the
 * same number of concurrent callers as the sign-in benchmark. Runs in its own process so that it gets the
 * same UV_THREADPOOL_SIZE as the server (argon2 runs on libuv's thread pool) and nothing else competes.
 * Env: BENCH_CONCURRENCY, BENCH_COUNT or BENCH_DURATION_MS.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../src/identity/passwords.ts';
import { runLoad, summarize } from './lib/load.ts';
import { workerChannel } from './lib/processes.ts';

const channel = workerChannel();
try {
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const count = process.env.BENCH_COUNT ? Number(process.env.BENCH_COUNT) : undefined;
  const durationMs = process.env.BENCH_DURATION_MS ? Number(process.env.BENCH_DURATION_MS) : undefined;
  const password = `pw-${randomBytes(6).toString('hex')}-Secret!42`;
  // Warm up: load the native module and touch the thread pool once per thread.
  await Promise.all(Array.from({ length: 4 }, () => hashPassword(password)));
  channel.ready();
  await channel.go;
  const r = summarize(
    await runLoad({ concurrency, ...(count === undefined ? {} : { count }), ...(durationMs === undefined ? {} : { durationMs }) }, async () => {
      await hashPassword(password);
    }),
  );
  channel.done({ ...r, note: `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}` });
} catch (error) {
  channel.failed(error);
}
process.disconnect?.();
