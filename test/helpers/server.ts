/** Starts a real Portcullis server (as main.ts does) on a free port against a given database. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/env.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

export async function freePort(): Promise<number> {
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

export interface TestServerOptions {
  /** Unset: embedded PGlite in a fresh temporary DATA_DIR. */
  readonly databaseUrl?: string;
  readonly env?: Record<string, string>;
  /**
   * PUBLIC_URL, for several nodes behind one address: the issuers use it, while `url` and `admin` still
   * reach this node directly. Default: this node's own address.
   */
  readonly publicUrl?: string;
  /** Listen on this port (known in advance, e.g. for a PUBLIC_URL of http://localhost:<port>). */
  readonly port?: number;
}

export interface TestServer extends RunningServer {
  readonly issuer: (tenant: string) => string;
  readonly admin: (path: string, init?: { method?: string; body?: unknown; token?: string | null }) => Promise<Response>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    PORT: String(port),
    PUBLIC_URL: options.publicUrl ?? `http://127.0.0.1:${port}`,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'portcullis-')),
    PORTCULLIS_MASTER_KEY: MASTER_KEY,
    PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    PORTCULLIS_DEMO: 'false',
    DATABASE_POOL_SIZE: '10',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const running = await startServer(config, pino({ level: env.LOG_LEVEL ?? 'silent' }));
  const base = `http://127.0.0.1:${port}`;
  const publicUrl = options.publicUrl ?? base;
  return {
    ...running,
    url: base,
    issuer: (tenant) => `${publicUrl}/t/${tenant}`,
    admin: (path, init = {}) =>
      fetch(`${base}/admin/api${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? ADMIN_TOKEN}` }),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      }),
  };
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
