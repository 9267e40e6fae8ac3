import { describe, expect, it } from 'vitest';
import { routeLabel } from './request-context.ts';

describe('routeLabel', () => {
  it('keeps metric labels low-cardinality', () => {
    expect(routeLabel('/t/acme/interaction/abc123/login?x=1')).toBe('/t/:tenant/interaction/:uid/login');
    expect(routeLabel('/admin/api/tenants/acme/users/0190-1')).toBe('/admin/api/tenants/:t/users/:id');
    expect(routeLabel('/t/globex/token')).toBe('/t/:tenant/token');
    expect(routeLabel('/t/globex/token/introspection')).toBe('/t/:tenant/token/introspection');
    expect(routeLabel('/t/globex/session/end/confirm')).toBe('/t/:tenant/session/end/confirm');
    expect(routeLabel('/t/x/auth/someuid')).toBe('/t/:tenant/auth/:id');
  });
});
