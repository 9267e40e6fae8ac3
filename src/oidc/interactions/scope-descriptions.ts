/** Plain-language lines for the consent page. */
const OIDC_SCOPES: Record<string, string> = {
  openid: 'Sign you in with your account',
  profile: 'See your name and username',
  email: 'See your email address',
  groups: 'See the groups you belong to',
  offline_access: 'Stay signed in and access your data while you are away',
};

export function describeScopes(oidc: string[], resources: Record<string, string[]>): string[] {
  const lines = oidc.map((s) => OIDC_SCOPES[s] ?? `Use the permission “${s}”`);
  for (const [indicator, scopes] of Object.entries(resources)) {
    for (const s of scopes) lines.push(`Use “${s}” at ${indicator}`);
  }
  return lines;
}
