/** Errors of the provisioning writes (identity/provisioning-service.ts); each surface maps them. */
import { AppError } from '../lib/errors.ts';
import type { OwnershipConflict } from './attribute-precedence.ts';

/** The caller's expected version (If-Match) is not the stored one. */
export class VersionMismatch extends AppError {
  constructor(message = 'the resource has changed since the given version') {
    super('version_mismatch', 412, message);
  }
}

/** A source tried to change attributes that a higher-ranking source owns. */
export class AttributeConflict extends AppError {
  readonly conflicts: readonly OwnershipConflict[];

  constructor(conflicts: readonly OwnershipConflict[]) {
    super(
      'attribute_conflict',
      409,
      `owned by a source of higher precedence: ${conflicts.map((c) => `${c.attribute} (${c.owner})`).join(', ')}`,
    );
    this.conflicts = conflicts;
  }
}

/** A named group member does not exist in the tenant. */
export class UnknownMember extends AppError {
  constructor(id: string) {
    super('unknown_member', 400, `no user or group ${id.slice(0, 64)} in this tenant`);
  }
}
