/** oidc-provider's account lookup: users of the tenant, claims by scope. Inactive users do not exist here. */
import type { Account, FindAccount } from 'oidc-provider';
import type { UserRepository } from '../identity/user-repository.ts';
import { isUuid } from '../lib/ids.ts';

export function accountFinder(tenantId: string, users: UserRepository): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    if (!isUuid(sub)) return undefined;
    const user = await users.findById(tenantId, sub);
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
