/**
 * Builds the SCIM part of the object graph from what the composition root hands it: the registry from
 * the documents in `scim/`, the services, the token store and the router. Called once by container.ts.
 */
import type { Kysely } from 'kysely';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { ProvisioningRepository } from '../identity/provisioning-repository.ts';
import type { ProvisioningService } from '../identity/provisioning-service.ts';
import { ScimBulk } from './bulk.ts';
import { ScimGroups } from './groups.ts';
import { ResourceQuery } from './query/resource-query.ts';
import { createRegistry } from './registry/attributes.ts';
import { loadScimDocuments } from './registry/schema-documents.ts';
import { scimRoutes } from './routes.ts';
import { ScimAuth, type OAuthTokens } from './tokens/scim-auth.ts';
import { ScimTokenRepository } from './tokens/token-repository.ts';
import { ScimTokenService } from './tokens/token-service.ts';
import { ScimUsers } from './users.ts';

export interface ScimModuleDeps {
  readonly db: Kysely<Database>;
  readonly audit: AuditLog;
  readonly provisioning: ProvisioningService;
  readonly provisioningRepository: ProvisioningRepository;
  readonly oauth: OAuthTokens;
  readonly publicUrl: string;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

export interface ScimModule {
  /** SCIM tokens, for the admin API. */
  readonly tokens: ScimTokenService;
  /** The router to mount at `/t/:tenant/scim/v2`. */
  readonly router: Router;
}

export function createScimModule(deps: ScimModuleDeps): ScimModule {
  const documents = loadScimDocuments();
  const registry = createRegistry(documents);
  const query = new ResourceQuery(deps.db);
  const users = new ScimUsers(registry.User, deps.provisioning, deps.provisioningRepository, query);
  const groups = new ScimGroups(registry.Group, deps.provisioning, deps.provisioningRepository, query);
  const tokenRepository = new ScimTokenRepository(deps.db);
  return {
    tokens: new ScimTokenService(deps.db, tokenRepository, deps.audit),
    router: scimRoutes({
      auth: new ScimAuth(tokenRepository, deps.oauth),
      users,
      groups,
      bulk: new ScimBulk(users, groups, documents.serviceProviderConfig.bulk.maxOperations),
      documents,
      publicUrl: deps.publicUrl,
      maxBodyBytes: deps.maxBodyBytes,
      logger: deps.logger,
    }),
  };
}
