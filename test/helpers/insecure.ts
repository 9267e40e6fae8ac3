/** openid-client options for the test servers, which listen on plain http. */
import * as oidc from 'openid-client';

export const OVER_HTTP: oidc.DiscoveryRequestOptions = {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the test servers have no TLS; tests only
  execute: [oidc.allowInsecureRequests],
};
