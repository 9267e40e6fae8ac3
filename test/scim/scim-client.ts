/** A small SCIM client for the tests: a token made through the admin API, JSON in and out. */
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createTenant, expectStatus } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export type Json = Record<string, unknown>;

export interface ScimResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
  readonly text: string;
}

export interface ListBody {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Json[];
}

export interface ScimClient {
  readonly base: string;
  readonly token: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse>;
  get(path: string, headers?: Record<string, string>): Promise<ScimResponse>;
  /** GET a list and return its body; throws unless 200. */
  list(path: string): Promise<ListBody>;
}

export async function createScimToken(server: TestServer, tenant: string, description = 'provisioning'): Promise<{ id: string; token: string }> {
  return (await expectStatus(await server.admin(`/tenants/${tenant}/scim-tokens`, { body: { description } }), 201)) as { id: string; token: string };
}

export function scimClient(server: TestServer, tenant: string, token: string): ScimClient {
  const base = `${server.url}/t/${tenant}/scim/v2`;
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimResponse> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = {};
    if (text) {
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        parsed = {};
      }
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    base,
    token,
    request,
    get: (path, headers) => request('GET', path, undefined, headers),
    async list(path) {
      const res = await request('GET', path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
      return res.body as unknown as ListBody;
    },
  };
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export function patchOp(...operations: Json[]): Json {
  return { schemas: [PATCH_OP], Operations: operations };
}

/** A fresh database, a server on it, a tenant and a SCIM client with a token of that tenant. */
export interface ScimWorld {
  readonly db: TestDatabase;
  readonly server: TestServer;
  readonly scim: ScimClient;
  readonly tokenId: string;
}

export async function startScimWorld(tenant: string, description = 'provisioning'): Promise<ScimWorld> {
  const db = await createTestDatabase();
  const server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, tenant);
  const token = await createScimToken(server, tenant, description);
  return { db, server, scim: scimClient(server, tenant, token.token), tokenId: token.id };
}

export async function stopScimWorld(world: ScimWorld | undefined): Promise<void> {
  await world?.server.stop();
  await world?.db.drop();
}
