/** The OpenAPI 3.1 description of the admin API, with request schemas generated from the zod schemas. */
import { z } from 'zod';
import { createUserSchema, updateUserSchema } from '../identity/user-schemas.ts';
import { clientMetadataSchema, clientPatchSchema } from '../oidc/client-schemas.ts';
import { resourceServerSchema } from '../oidc/resource-servers.ts';
import { createTenantSchema } from '../tenants/tenant-service.ts';
import { precedenceSchema } from '../identity/attribute-precedence.ts';
import { createScimTokenSchema } from '../scim/tokens/token-service.ts';
import { signInPolicySchema } from '../risk/policy.ts';

type Doc = Record<string, unknown>;

const json = (schema: z.ZodType): Doc => ({
  required: true,
  content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } },
});
const ok = (description: string): Doc => ({ description, content: { 'application/json': {} } });
const errors: Doc = {
  '400': { $ref: '#/components/responses/Error' },
  '401': { $ref: '#/components/responses/Error' },
  '404': { $ref: '#/components/responses/Error' },
};
const tenantParam = { name: 'tenant', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const page = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];

export function openApiDocument(publicUrl: string): Doc {
  return {
    openapi: '3.1.0',
    info: { title: 'Portcullis admin API', version: '1.0.0' },
    servers: [{ url: `${publicUrl}/admin/api` }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'An error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['error'],
                properties: { error: { type: 'string' }, error_description: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    paths: {
      '/tenants': {
        post: { summary: 'Create a tenant', requestBody: json(createTenantSchema), responses: { '201': ok('The tenant'), '409': { $ref: '#/components/responses/Error' }, ...errors } },
        get: { summary: 'List tenants', parameters: page, responses: { '200': ok('{items, next}'), ...errors } },
      },
      '/tenants/{tenant}': { get: { summary: 'One tenant', parameters: [tenantParam], responses: { '200': ok('The tenant'), ...errors } } },
      '/tenants/{tenant}/keys/rotate': {
        post: { summary: 'Rotate signing keys', parameters: [tenantParam], responses: { '200': ok('New key ids'), ...errors } },
      },
      '/tenants/{tenant}/clients': {
        post: { summary: 'Register a client (DCR metadata)', parameters: [tenantParam], requestBody: json(clientMetadataSchema), responses: { '201': ok('The client, with client_secret this once'), '409': { $ref: '#/components/responses/Error' }, ...errors } },
        get: { summary: 'List clients', parameters: [tenantParam, ...page], responses: { '200': ok('{items, next}'), ...errors } },
      },
      '/tenants/{tenant}/clients/{id}': {
        get: { summary: 'One client', parameters: [tenantParam, idParam], responses: { '200': ok('The client'), ...errors } },
        patch: { summary: 'Change a client', parameters: [tenantParam, idParam], requestBody: json(clientPatchSchema), responses: { '200': ok('The client'), ...errors } },
        delete: { summary: 'Remove a client', parameters: [tenantParam, idParam], responses: { '204': { description: 'Removed' }, ...errors } },
      },
      '/tenants/{tenant}/users': {
        post: { summary: 'Create a user', parameters: [tenantParam], requestBody: json(createUserSchema), responses: { '201': ok('The user'), '409': { $ref: '#/components/responses/Error' }, ...errors } },
        get: { summary: 'List or search users', parameters: [tenantParam, { name: 'q', in: 'query', schema: { type: 'string' } }, ...page], responses: { '200': ok('{items, next}'), ...errors } },
      },
      '/tenants/{tenant}/users/{id}': {
        get: { summary: 'One user', parameters: [tenantParam, idParam], responses: { '200': ok('The user'), ...errors } },
        patch: { summary: 'Change a user', parameters: [tenantParam, idParam], requestBody: json(updateUserSchema), responses: { '200': ok('The user'), ...errors } },
        delete: { summary: 'Remove a user', parameters: [tenantParam, idParam], responses: { '204': { description: 'Removed' }, ...errors } },
      },
      '/tenants/{tenant}/resource-servers': {
        post: { summary: 'Register an API (resource indicator)', parameters: [tenantParam], requestBody: json(resourceServerSchema), responses: { '201': ok('The resource server'), ...errors } },
        get: { summary: 'List APIs', parameters: [tenantParam], responses: { '200': ok('{items, next}'), ...errors } },
      },
      '/tenants/{tenant}/audit-events': {
        get: {
          summary: 'Audit trail, newest first',
          parameters: [
            tenantParam,
            { name: 'type', in: 'query', schema: { type: 'string' } },
            { name: 'subject', in: 'query', schema: { type: 'string' } },
            { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
            ...page,
          ],
          responses: { '200': ok('{items, next}'), ...errors },
        },
      },
      '/tenants/{tenant}/audit-events/verification': {
        get: { summary: 'Verify the hash chain', parameters: [tenantParam], responses: { '200': ok('{ok, segments, events, problems}'), ...errors } },
      },
      '/tenants/{tenant}/scim-tokens': {
        post: { summary: 'Create a SCIM bearer token', parameters: [tenantParam], requestBody: json(createScimTokenSchema), responses: { '201': ok('{id, token, description}: the token is shown this once'), ...errors } },
        get: { summary: 'List SCIM tokens (never the tokens themselves)', parameters: [tenantParam, ...page], responses: { '200': ok('{items, next}'), ...errors } },
      },
      '/tenants/{tenant}/scim-tokens/{id}': {
        delete: { summary: 'Revoke a SCIM token', parameters: [tenantParam, idParam], responses: { '204': { description: 'Revoked' }, ...errors } },
      },
      '/tenants/{tenant}/attribute-precedence': {
        get: { summary: 'Which user source wins each attribute', parameters: [tenantParam], responses: { '200': ok('{order, attributes}'), ...errors } },
        put: { summary: 'Set the attribute precedence', parameters: [tenantParam], requestBody: json(precedenceSchema), responses: { '200': ok('{order, attributes}'), ...errors } },
      },
      '/tenants/{tenant}/policy': {
        get: { summary: 'The sign-in policy (risk levels, actions, deny lists, per-client overrides), defaults filled in', parameters: [tenantParam], responses: { '200': ok('The policy document'), ...errors } },
        put: { summary: 'Replace the sign-in policy ({} means the defaults); 400 names each invalid field', parameters: [tenantParam], requestBody: json(signInPolicySchema), responses: { '200': ok('The policy as stored'), ...errors } },
      },
      '/tenants/{tenant}/users/{id}/mfa/reset': {
        post: { summary: "Remove a user's second factors (TOTP, recovery codes)", parameters: [tenantParam, idParam], responses: { '200': ok('{factorsRemoved, recoveryCodesRemoved}'), ...errors } },
      },
      '/tenants/{tenant}/users/{id}/compromised': {
        put: {
          summary: 'Mark an account compromised (ends its sessions and tokens, denies sign-ins) or clear the mark',
          parameters: [tenantParam, idParam],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['compromised'],
                  additionalProperties: false,
                  properties: { compromised: { type: 'boolean' }, reason: { type: ['string', 'null'], maxLength: 500 } },
                },
              },
            },
          },
          responses: { '200': ok('{compromised, reason}'), ...errors },
        },
      },
    },
  };
}
