/** oidc-provider's account lookup: users of the tenant, claims by scope. Inactive users do not exist here. */
import type { Account, FindAccount } from 'oidc-provider';
import type { UserRow } from '../db/schema.ts';
import type { UserRepository } from '../identity/user-repository.ts';
import { isUuid } from '../lib/ids.ts';

/** Users already read during a request (by the request's context), so its account lookup need not read them again. */
const readInRequest = new WeakMap<object, UserRow>();

/** Lets the rest of this request (oidc-provider's account lookup) use a user row just read. */
export function rememberAccount(ctx: object, user: UserRow): void {
  readInRequest.set(ctx, user);
}

export function accountFinder(tenantId: string, users: UserRepository): FindAccount {
  return async (ctx, sub): Promise<Account | undefined> => {
    if (!isUuid(sub)) return undefined;
    const known = readInRequest.get(ctx);
    const user = known?.id === sub && known.tenant_id === tenantId ? known : await users.findById(tenantId, sub);
    if (!user?.active) return undefined;
    return {
      accountId: user.id,
      async claims(_use, scope) {
        const scopes = new Set(scope.split(' '));
        const name = [user.given_name, user.family_name].filter(Boolean).join(' ');
        return {
          sub: user.id,
          preferred_username: user.username,
          ...(name && { name }),
          ...(user.given_name && { given_name: user.given_name }),
          ...(user.family_name && { family_name: user.family_name }),
          updated_at: Math.floor(user.updated_at.getTime() / 1000),
          ...(user.email && { email: user.email, email_verified: user.email_verified }),
          ...(scopes.has('groups') && { groups: await users.groupNames(tenantId, user.id) }),
        };
      },
    };
  };
}
