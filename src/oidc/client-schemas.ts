/**
 * Client registration metadata accepted by the admin API: the OpenID Connect Dynamic Client Registration
 * fields Portcullis supports, plus `require_consent`. Unknown fields are refused, not silently dropped.
 * @see https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata
 */
import { z } from 'zod';

const uri = z.url().max(2048);
const redirectUri = uri.refine((v) => !v.includes('#'), 'must not contain a fragment');

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

export const clientMetadataSchema = z.strictObject({
  client_id: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{1,128}$/, 'may hold letters, digits and . _ ~ - (up to 128)')
    .optional(),
  client_name: z.string().trim().min(1).max(200).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  redirect_uris: z.array(redirectUri).max(50).optional(),
  post_logout_redirect_uris: z.array(redirectUri).max(50).optional(),
  grant_types: z.array(z.enum(GRANT_TYPES)).min(1).optional(),
  response_types: z.array(z.enum(['code'])).optional(),
  token_endpoint_auth_method: z.enum(AUTH_METHODS).optional(),
  scope: z
    .string()
    .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'space-separated scope tokens (RFC 6749 §3.3)')
    .max(1000)
    .optional(),
  id_token_signed_response_alg: z.enum(['ES256', 'RS256']).optional(),
  jwks_uri: uri.optional(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).max(20) }).optional(),
  backchannel_logout_uri: uri.optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  logo_uri: uri.optional(),
  client_uri: uri.optional(),
  policy_uri: uri.optional(),
  tos_uri: uri.optional(),
  contacts: z.array(z.string().max(320)).max(20).optional(),
  /** Portcullis: show the consent page even without prompt=consent (third-party apps). */
  require_consent: z.boolean().optional(),
});
export type ClientMetadataInput = z.infer<typeof clientMetadataSchema>;

/** PATCH: any subset; `client_id` cannot change; `rotate_secret: true` issues a new secret. */
export const clientPatchSchema = clientMetadataSchema
  .omit({ client_id: true })
  .partial()
  .extend({ rotate_secret: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change');
export type ClientPatchInput = z.infer<typeof clientPatchSchema>;
