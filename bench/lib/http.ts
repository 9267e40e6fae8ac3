/**
 * A small, fast HTTP/1.1 client for the load generator: node:http with a keep-alive agent (no fetch, whose
 * per-request overhead would show up in the figures), a cookie jar, and helpers to follow redirects and
 * submit the server-rendered forms. Only ever pointed at 127.0.0.1.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export class HttpClient {
  readonly base: URL;
  /** Origins served by this client's server: its own, and the PUBLIC_URL it was given (several nodes share one). */
  readonly #origins: Set<string>;
  readonly #agent: Agent;

  constructor(baseUrl: string, maxSockets: number, publicUrl: string = baseUrl) {
    this.base = new URL(baseUrl);
    if (this.base.hostname !== '127.0.0.1') throw new Error(`the bench only loads 127.0.0.1, not ${this.base.hostname}`);
    this.#origins = new Set([this.base.origin, new URL(publicUrl).origin]);
    this.#agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'fifo' });
  }

  /** True when `url` names this server (so a redirect to it is followed on this connection pool). */
  serves(url: URL): boolean {
    return this.#origins.has(url.origin);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = request(
        { host: this.base.hostname, port: this.base.port, method, path, headers, agent: this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.request('POST', path, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Cookies by name, paths ignored (as test/helpers/browser.ts does: every cookie here is ours). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(res: HttpResponse): void {
    for (const header of res.headers['set-cookie'] ?? []) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*(expires=Thu, 01 Jan 1970|max-age=0)/i.test(a));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Copies the cookies of `other` for which `keep(name)` is true. */
  copyFrom(other: CookieJar, keep: (name: string) => boolean): void {
    for (const [name, value] of other.#cookies) if (keep(name)) this.#cookies.set(name, value);
  }
}

/** What a current desktop browser sends; requests without one score as automation in the risk engine. */
export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';

/** A cookie-keeping user agent on a shared HttpClient: one per simulated browser. */
export class Browser {
  readonly jar = new CookieJar();
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Requests `path` and follows same-origin redirects until a page answers or a Location satisfies
   * `stopAt` (returned unfollowed: the client's callback is not ours to load).
   */
  async open(path: string, stopAt: (location: string) => boolean, form?: Record<string, string>): Promise<{ path: string; res: HttpResponse; location?: string }> {
    let current = path;
    let body = form;
    for (let hops = 0; hops < 10; hops++) {
      const cookie = this.jar.header();
      const headers: Record<string, string> = { 'user-agent': BROWSER_USER_AGENT, ...(cookie ? { cookie } : {}) };
      const res = body ? await this.#http.postForm(current, body, headers) : await this.#http.get(current, headers);
      this.jar.store(res);
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, this.#http.base);
        if (stopAt(next.toString())) return { path: current, res, location: next.toString() };
        if (!this.#http.serves(next)) throw new Error(`redirect off the server: ${next.toString()}`);
        current = next.pathname + next.search;
        body = undefined;
        continue;
      }
      return { path: current, res };
    }
    throw new Error('too many redirects');
  }
}

/** The action and hidden fields of the first form whose action contains `actionPart`. */
export function findForm(html: string, actionPart: string): { action: string; hidden: Record<string, string> } {
  for (const f of html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (!f[1]?.includes(actionPart)) continue;
    const hidden: Record<string, string> = {};
    for (const input of (f[2] ?? '').matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
      if (name) hidden[name] = decodeEntities(value);
    }
    return { action: decodeEntities(f[1]), hidden };
  }
  throw new Error(`no form with action containing ${actionPart} in:\n${html.slice(0, 1500)}`);
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** RFC 6749 §2.3.1: HTTP Basic with form-urlencoded id and secret. */
export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}
