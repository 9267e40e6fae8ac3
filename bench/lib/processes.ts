/**
 * Child processes of the bench: Portcullis servers (node src/main.ts, as in production), the bare express
 * baseline and the worker scripts. Every child is started here and stopped by its own pid.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The pinned Node (the `node` devDependency); the running one when the link is missing. */
export const NODE_BIN = existsSync(`${REPO_ROOT}node_modules/.bin/node`) ? `${REPO_ROOT}node_modules/.bin/node` : process.execPath;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Memory {
  /** Resident set size, KiB (VmRSS). */
  readonly rssKb: number;
  /** Peak resident set size, KiB (VmHWM). */
  readonly peakKb: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/** Keeps the last lines a child printed, to show them when it fails. */
class Tail {
  #lines: string[] = [];

  push(chunk: Buffer): void {
    this.#lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
    if (this.#lines.length > 40) this.#lines = this.#lines.slice(-40);
  }

  toString(): string {
    return this.#lines.join('\n');
  }
}

export interface Child {
  readonly pid: number;
  readonly process: ChildProcess;
  readonly output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Every child still running, so that an interrupted bench can stop them all (by their own pids). */
const live = new Set<Child>();

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(5_000)));
}

function wrap(child: ChildProcess, tail: Tail): Child {
  if (child.pid === undefined) throw new Error('child process did not start');
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  const handle: Child = {
    pid,
    process: child,
    output: () => tail.toString(),
    async stop(graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

export interface PortcullisOptions {
  readonly databaseUrl: string;
  /** The PUBLIC_URL (issuer base) shared by every node; default: this node's own URL. */
  readonly publicUrl?: string;
  readonly masterKey: string;
  readonly adminToken: string;
  readonly env?: Record<string, string>;
  /** Directory for a V8 CPU profile of the server (written when it exits). */
  readonly cpuProfileDir?: string;
}

export interface PortcullisProcess extends Child {
  readonly url: string;
}

export async function startPortcullis(options: PortcullisOptions, port?: number): Promise<PortcullisProcess> {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The same flags as `npm start` (package.json), so the figures are those of the production command.
  const args = [
    '--max-semi-space-size=8',
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    'src/main.ts',
  ];
  const child = spawn(NODE_BIN, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: String(port),
      PUBLIC_URL: options.publicUrl ?? url,
      DATABASE_URL: options.databaseUrl,
      PORTCULLIS_MASTER_KEY: options.masterKey,
      PORTCULLIS_ADMIN_TOKEN: options.adminToken,
      LOG_LEVEL: 'warn',
      PORTCULLIS_DEMO: 'false',
      RATE_LIMIT_CLIENT_PER_MINUTE: '100000000',
      RATE_LIMIT_LOGIN_PER_MINUTE: '100000000',
      ...options.env,
    },
  });
  const running = wrap(child, new Tail());
  await waitReady(url, running);
  return { ...running, url };
}

async function waitReady(url: string, child: Child): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`Portcullis exited with ${child.process.exitCode}:\n${child.output()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await child.stop();
  throw new Error(`Portcullis did not become ready within 60 s:\n${child.output()}`);
}

/** Messages between the bench and its worker scripts (bench/*-worker.ts, bench/hello-server.ts). */
export type WorkerMessage =
  | { readonly kind: 'ready'; readonly port?: number }
  | { readonly kind: 'done'; readonly result: WorkerResult }
  | { readonly kind: 'failed'; readonly error: string };

export interface WorkerResult {
  readonly ok: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly firstError?: string | undefined;
  readonly note?: string;
}

export type ParentMessage = { readonly kind: 'go' };

export interface Worker extends Child {
  readonly ready: Promise<{ port?: number }>;
  /** Sends `go` and resolves with the worker's result. */
  run(): Promise<WorkerResult>;
}

/** Forks a bench script with an IPC channel; it announces `ready`, runs on `go`, answers `done`. */
export function forkWorker(script: string, env: Record<string, string>): Worker {
  const child = fork(fileURLToPath(new URL(`../${script}`, import.meta.url)), [], {
    cwd: REPO_ROOT,
    execPath: NODE_BIN,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  const running = wrap(child, new Tail());
  const messages = (predicate: (m: WorkerMessage) => boolean): Promise<WorkerMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.kind === 'failed') {
          cleanup();
          reject(new Error(`${script} failed: ${m.error}\n${running.output()}`));
        } else if (predicate(m)) {
          cleanup();
          resolve(m);
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`${script} exited with ${code ?? 'a signal'}:\n${running.output()}`));
      };
      const cleanup = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ready = messages((m) => m.kind === 'ready').then((m) => (m.kind === 'ready' && m.port !== undefined ? { port: m.port } : {}));
  return {
    ...running,
    ready,
    async run() {
      await ready;
      const done = messages((m) => m.kind === 'done');
      const go: ParentMessage = { kind: 'go' };
      child.send(go);
      const m = await done;
      if (m.kind !== 'done') throw new Error('unexpected message');
      return m.result;
    },
  };
}

/** For worker scripts: announce readiness, wait for `go`, then report. */
export function workerChannel(): { ready(port?: number): void; go: Promise<void>; done(result: WorkerResult): void; failed(error: unknown): void } {
  const send = (m: WorkerMessage): void => {
    process.send?.(m);
  };
  const go = new Promise<void>((resolve) => {
    process.on('message', (m: ParentMessage) => {
      if (m.kind === 'go') resolve();
    });
  });
  return {
    ready: (port) => send(port === undefined ? { kind: 'ready' } : { kind: 'ready', port }),
    go,
    done: (result) => send({ kind: 'done', result }),
    failed: (error) => send({ kind: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  };
}
