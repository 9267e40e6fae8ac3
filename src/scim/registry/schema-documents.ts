/**
 * The RFC 7643 documents in the top-level `scim/` folder, read once at start and checked with zod: they are
 * what /Schemas, /ResourceTypes and /ServiceProviderConfig serve, and the attribute registry is built from
 * them (registry/attributes.ts). A malformed document stops the server at boot (TypeError).
 * @see https://www.rfc-editor.org/rfc/rfc7643#section-7
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const SCIM_FOLDER = fileURLToPath(new URL('../../../scim/', import.meta.url));

const attributeType = z.enum(['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary', 'complex']);
const baseAttribute = z.object({
  name: z.string().regex(/^\$?[A-Za-z][\w-]*$/),
  type: attributeType,
  multiValued: z.boolean(),
  description: z.string(),
  required: z.boolean(),
  caseExact: z.boolean().optional(),
  canonicalValues: z.array(z.string()).optional(),
  referenceTypes: z.array(z.string()).optional(),
  mutability: z.enum(['readOnly', 'readWrite', 'immutable', 'writeOnly']),
  returned: z.enum(['always', 'never', 'default', 'request']),
  uniqueness: z.enum(['none', 'server', 'global']).optional(),
});
const attributeSchema = baseAttribute.extend({ subAttributes: z.array(baseAttribute).optional() });
export type AttributeDocument = z.infer<typeof attributeSchema>;
export type SubAttributeDocument = z.infer<typeof baseAttribute>;

const metaSchema = z.object({ resourceType: z.string(), location: z.string() });
const schemaDocument = z.object({
  schemas: z.array(z.string()),
  id: z.string().startsWith('urn:'),
  name: z.string(),
  description: z.string(),
  attributes: z.array(attributeSchema),
  meta: metaSchema,
});
export type SchemaDocument = z.infer<typeof schemaDocument>;

const resourceTypeDocument = z.object({
  schemas: z.array(z.string()),
  id: z.enum(['User', 'Group']),
  name: z.string(),
  endpoint: z.string(),
  description: z.string(),
  schema: z.string(),
  schemaExtensions: z.array(z.object({ schema: z.string(), required: z.boolean() })),
  meta: metaSchema,
});
export type ResourceTypeDocument = z.infer<typeof resourceTypeDocument>;

const serviceProviderConfig = z.looseObject({
  schemas: z.array(z.string()),
  bulk: z.object({ supported: z.literal(true), maxOperations: z.number().int().positive(), maxPayloadSize: z.number().int().positive() }),
  filter: z.object({ supported: z.literal(true), maxResults: z.number().int().positive() }),
  meta: metaSchema,
});
export type ServiceProviderConfigDocument = z.infer<typeof serviceProviderConfig>;

export interface ScimDocuments {
  readonly serviceProviderConfig: ServiceProviderConfigDocument;
  readonly resourceTypes: readonly ResourceTypeDocument[];
  readonly schemas: readonly SchemaDocument[];
}

function load<S extends z.ZodType>(schema: S, file: string): z.infer<S> {
  const result = schema.safeParse(JSON.parse(readFileSync(`${SCIM_FOLDER}${file}`, 'utf8')));
  if (!result.success) throw new TypeError(`scim/${file} is not a valid SCIM document: ${result.error.message}`);
  return result.data;
}

/** Reads the documents from `scim/` (synchronously: once, at start). */
export function loadScimDocuments(): ScimDocuments {
  return {
    serviceProviderConfig: load(serviceProviderConfig, 'service-provider-config.json'),
    resourceTypes: [load(resourceTypeDocument, 'User.resource-type.json'), load(resourceTypeDocument, 'Group.resource-type.json')],
    schemas: [
      load(schemaDocument, 'User.schema.json'),
      load(schemaDocument, 'EnterpriseUser.schema.json'),
      load(schemaDocument, 'Group.schema.json'),
    ],
  };
}
