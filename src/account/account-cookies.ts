/**
 * The account page's own cookies, scoped to `/t/{tenant}/account`: the session (who, when they signed
 * in, how) and the pending authorization request (state, PKCE verifier, where to return). Each value is
 * `base64url(JSON).base64url(HMAC-SHA-256)` under a key derived from the master key; the MAC covers the
 * cookie name, which carries the tenant, so a cookie of one tenant means nothing to another.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions, Request, Response } from 'express';
import { z } from 'zod';

/** How long an account session lasts after its sign-in, in seconds. */
export const ACCOUNT_SESSION_SECONDS = 3600;
/** How long an authorization request may take, in seconds. */
const TRANSACTION_SECONDS = 600;

const sessionSchema = z.object({
  sub: z.string(),
  authTime: z.number().int(),
  amr: z.array(z.string()),
  acr: z.string().nullable(),
  sid: z.string().nullable(),
  /** Random per session: binds the CSRF tokens of its forms. */
  nonce: z.string(),
  exp: z.number().int(),
});
export type AccountSession = z.infer<typeof sessionSchema>;

const transactionSchema = z.object({ state: z.string(), verifier: z.string(), returnTo: z.string(), exp: z.number().int() });
export type AccountTransaction = z.infer<typeof transactionSchema>;

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Reads one cookie from the Cookie header (no cookie parser is installed app-wide). */
export function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `base64url(JSON).base64url(MAC)`, the MAC over the cookie name and the payload. */
export function sealCookieValue(key: Buffer, name: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${payload}.${macOf(key, name, payload).toString('base64url')}`;
}

function macOf(key: Buffer, name: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${name}\0${payload}`).digest();
}

export class AccountCookies {
  readonly #key: Buffer;
  readonly #secure: boolean;

  constructor(key: Buffer, secure: boolean) {
    this.#key = key;
    this.#secure = secure;
  }

  readSession(req: Request, tenantId: string, nowSeconds: number): AccountSession | undefined {
    const session = this.#read(req, this.#sessionName(tenantId), sessionSchema);
    return session && session.exp > nowSeconds ? session : undefined;
  }

  writeSession(res: Response, tenantId: string, session: AccountSession): void {
    this.#write(res, tenantId, this.#sessionName(tenantId), session, ACCOUNT_SESSION_SECONDS);
  }

  readTransaction(req: Request, tenantId: string, nowSeconds: number): AccountTransaction | undefined {
    const tx = this.#read(req, this.#transactionName(tenantId), transactionSchema);
    return tx && tx.exp > nowSeconds ? tx : undefined;
  }

  writeTransaction(res: Response, tenantId: string, tx: Omit<AccountTransaction, 'exp'>, nowSeconds: number): void {
    this.#write(res, tenantId, this.#transactionName(tenantId), { ...tx, exp: nowSeconds + TRANSACTION_SECONDS }, TRANSACTION_SECONDS);
  }

  clear(res: Response, tenantId: string, which: 'session' | 'transaction'): void {
    const name = which === 'session' ? this.#sessionName(tenantId) : this.#transactionName(tenantId);
    res.clearCookie(name, this.#options(tenantId));
  }

  #sessionName(tenantId: string): string {
    return `pc_account_${tenantId}`;
  }

  #transactionName(tenantId: string): string {
    return `pc_account_tx_${tenantId}`;
  }

  #options(tenantId: string): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.#secure, path: `/t/${tenantId}/account` };
  }

  #write(res: Response, tenantId: string, name: string, value: unknown, maxAgeSeconds: number): void {
    res.cookie(name, sealCookieValue(this.#key, name, value), { ...this.#options(tenantId), maxAge: maxAgeSeconds * 1000, encode: String });
  }

  #read<T>(req: Request, name: string, schema: z.ZodType<T>): T | undefined {
    const raw = cookieValue(req, name);
    if (!raw || raw.length > 4096) return undefined;
    const [payload, mac, ...rest] = raw.split('.');
    if (!payload || !mac || rest.length > 0) return undefined;
    const presented = Buffer.from(mac, 'base64url');
    const expected = macOf(this.#key, name, payload);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
    try {
      const parsed = schema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
