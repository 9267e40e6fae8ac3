/** Runs `src/main.ts` as a real child process, the way an operator starts Portcullis. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The Node.js of the `node` devDependency (the one Portcullis is built for), not whatever is on PATH. */
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

export class PortcullisProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;
  #stdout = '';
  #stderr = '';
  #waiters: (() => void)[] = [];

  /** Starts `node src/main.ts` with exactly `env` (plus PATH), so nothing leaks in from the test runner. */
  constructor(env: Record<string, string>) {
    this.#child = spawn(NODE, ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout += chunk;
      this.#notify();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.exited = new Promise((resolve, reject) => {
      this.#child.on('error', reject);
      this.#child.on('exit', (code) => {
        this.#notify();
        resolve(code);
      });
    });
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits before it appears. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = pattern.exec(this.#stdout);
      if (match) return match;
      if (!this.running) {
        throw new Error(`the process exited (${this.#child.exitCode ?? this.#child.signalCode}) before printing ${pattern}:\n${this.#stdout}\n${this.#stderr}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Sends SIGTERM and resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.#child.kill('SIGTERM');
    return this.exited;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
