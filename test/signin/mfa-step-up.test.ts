/**
 * Step-up with TOTP (codes from oathtool) and recovery codes through the real login pages; acr/amr in the
 * ID token; RFC 9470 re-authentication with acr_values; the interaction-policy check that keeps an existing
 * session from skipping a required step-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../helpers/fixtures.ts';
import {
  atCallback,
  auditEvents,
  browserAt,
  createTotpUser,
  IPS,
  isStepUp,
  passwordSignIn,
  putPolicy,
  reasonOn,
  redeem,
  startWorld,
  type SignInWorld,
} from './fixture.ts';

const MFA = 'urn:portcullis:acr:mfa';
let world: SignInWorld;

beforeAll(async () => {
  world = await startWorld('stepup');
  // The web client requires two factors; other clients keep the default.
  await putPolicy(world, { clients: { web: { requiredAcr: MFA } } });
});

afterAll(async () => {
  await world?.stop();
});

describe('TOTP step-up', () => {
  it('asks for a code after the password and puts otp, mfa and rba in the ID token', async () => {
    const user = await createTotpUser(world, 'tess');
    const flow = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(isStepUp(flow.page)).toBe(true);
    expect(flow.page.html).toContain('name="code"');
    expect(reasonOn(flow.page)).toMatch(/confirm it's you with a second factor/);
    expect(reasonOn(flow.page)).not.toMatch(/\d/);

    const done = await flow.browser.submit(flow.page, '/step-up', { code: user.code(1) }, atCallback);
    const tokens = await redeem(world, flow, done);
    const claims = tokens.claims();
    expect(claims?.sub).toBe(user.id);
    expect(claims?.acr).toBe(MFA);
    expect([...((claims?.amr as string[] | undefined) ?? [])].sort()).toEqual(['mfa', 'otp', 'pwd', 'rba']);

    const [success] = await auditEvents(world, 'signin.success', `user:${user.id}`);
    expect(success?.details).toMatchObject({ acr: MFA, method: 'password+totp' });
  });

  it('refuses a replayed code, and a wrong one, on the step-up page', async () => {
    const user = await createTotpUser(world, 'rita');
    const first = await passwordSignIn(world, browserAt(IPS.paris), user);
    const code = user.code(1);
    const done = await first.browser.submit(first.page, '/step-up', { code }, atCallback);
    expect(atCallback(done.url)).toBe(true);

    const second = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(isStepUp(second.page)).toBe(true);
    const replay = await second.browser.submit(second.page, '/step-up', { code }, atCallback);
    expect(replay.status).toBe(401);
    expect(replay.html).toContain("That code didn&#39;t work");
    // A code no step near now accepts (the window is the current step ± 1).
    const near = new Set([-1, 0, 1, 2, 3].map((n) => user.code(n)));
    const wrongCode = ['000000', '111111', '222222', '333333', '444444', '555555'].find((c) => !near.has(c)) ?? '';
    const wrong = await second.browser.submit(replay, '/step-up', { code: wrongCode }, atCallback);
    expect(wrong.status).toBe(401);
    const failures = await auditEvents(world, 'signin.step_up.failure', `user:${user.id}`);
    expect(failures.map((e) => e.details.reason)).toContain('replayed');
  });

  it('accepts a recovery code once', async () => {
    const user = await createTotpUser(world, 'remy');
    const codes = await world.server.container.recoveryCodes.regenerate(world.tenant, user.id, { actor: `user:${user.id}`, ip: null });
    const recovery = codes[0] ?? '';

    const first = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(first.page.html).toContain('name="recovery_code"');
    const done = await first.browser.submit(first.page, 'step-up', { method: 'recovery-code', recovery_code: recovery }, atCallback);
    const tokens = await redeem(world, first, done);
    expect(tokens.claims()?.acr).toBe(MFA);
    expect(tokens.claims()?.amr).toContain('otp');

    const again = await passwordSignIn(world, browserAt(IPS.paris), user);
    const refused = await again.browser.submit(again.page, 'step-up', { method: 'recovery-code', recovery_code: recovery }, atCallback);
    expect(refused.status).toBe(401);
    expect(atCallback(refused.url)).toBe(false);
    expect(await world.server.container.recoveryCodes.remaining(world.tenant, user.id)).toBe(9);
  });

  it('tells a user without a second factor that the sign-in cannot continue', async () => {
    const user = await createUser(world.server, world.tenant, 'nora');
    const flow = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(isStepUp(flow.page)).toBe(true);
    expect(flow.page.html).toContain('no second factor set up');
    expect(flow.page.html).not.toContain('name="code"');
  });
});

describe('step-up cannot be skipped', () => {
  it('re-posting the login form or replaying the authorization request never yields a code', async () => {
    const user = await createTotpUser(world, 'sam');
    const flow = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(isStepUp(flow.page)).toBe(true);

    // The login form of the same interaction, posted again with the right password: the step-up again.
    const reposted = await flow.browser.open(
      flow.page.url.replace(/\/interaction\/([^/]+).*$/, '/interaction/$1/login'),
      {
        method: 'POST',
        body: new URLSearchParams({ username: user.username, password: user.password, csrf: /name="csrf" value="([^"]+)"/.exec(flow.page.html)?.[1] ?? '' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      atCallback,
    );
    expect(atCallback(reposted.url)).toBe(false);
    expect(isStepUp(reposted)).toBe(true);

    // Resuming the interaction at oidc-provider without finishing it: back to the interaction, no code.
    const uid = /\/interaction\/([^/?#]+)/.exec(flow.page.url)?.[1] ?? '';
    const resumed = await flow.browser.open(`${world.server.issuer(world.tenant)}/auth/${uid}`, {}, atCallback);
    expect(atCallback(resumed.url)).toBe(false);

    // The same authorization request again: a new interaction with the login form, not a code.
    const replay = await flow.browser.open(flow.authorizeUrl, {}, atCallback);
    expect(atCallback(replay.url)).toBe(false);
    expect(replay.html).toMatch(/name="password"|name="code"/);
  });

  it("another browser cannot complete a user's pending step-up", async () => {
    const user = await createTotpUser(world, 'vic');
    const victim = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(isStepUp(victim.page)).toBe(true);
    const attacker = await createTotpUser(world, 'mallory');
    const own = await passwordSignIn(world, browserAt(IPS.paris), attacker);
    expect(isStepUp(own.page)).toBe(true);

    // The attacker posts a valid code of the victim to the victim's interaction, with its own cookies.
    const victimUid = /\/interaction\/([^/?#]+)/.exec(victim.page.url)?.[1] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(victim.page.html)?.[1] ?? '';
    const res = await own.browser.open(
      `${world.server.url}/t/${world.tenant}/interaction/${victimUid}/step-up`,
      { method: 'POST', body: new URLSearchParams({ csrf, code: user.code(1) }), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      atCallback,
    );
    expect(atCallback(res.url)).toBe(false);
    expect(res.status).toBeGreaterThanOrEqual(400);
    // The victim's own code still works in the victim's browser: nothing was consumed.
    const done = await victim.browser.submit(victim.page, '/step-up', { code: user.code(1) }, atCallback);
    expect(atCallback(done.url)).toBe(true);
  });
});

describe('RFC 9470 step-up on request', () => {
  it('a client that asks for acr_values=mfa with max_age=0 gets a step-up even with a session', async () => {
    await putPolicy(world, {});
    try {
      const user = await createTotpUser(world, 'uma');
      const browser = browserAt(IPS.paris);
      const plain = await passwordSignIn(world, browser, user);
      const first = await redeem(world, plain);
      expect(first.claims()?.acr).toBe('urn:portcullis:acr:1fa');

      // The session is single-factor: acr_values=mfa alone demands a new sign-in with a second factor.
      const noMaxAge = await passwordSignIn(world, browser, user, { acr_values: MFA });
      expect(isStepUp(noMaxAge.page)).toBe(true);

      const stepped = await passwordSignIn(world, browser, user, { acr_values: MFA, max_age: '0' });
      expect(isStepUp(stepped.page)).toBe(true);
      const done = await browser.submit(stepped.page, '/step-up', { code: user.code(1) }, atCallback);
      const tokens = await redeem(world, stepped, done);
      expect(tokens.claims()?.acr).toBe(MFA);
      expect(tokens.claims()?.amr).toContain('mfa');

      // Now the session is elevated: the same request is answered without a page.
      const silent = await passwordSignIn(world, browser, user, { acr_values: MFA });
      expect(atCallback(silent.page.url)).toBe(true);
    } finally {
      await putPolicy(world, { clients: { web: { requiredAcr: MFA } } });
    }
  });
});
