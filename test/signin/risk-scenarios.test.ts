/**
 * The risk scenarios over the real server, with client addresses from X-Forwarded-For (TRUST_PROXY
 * = loopback) and the bundled DB-IP data: impossible travel, a new device, a password spray, brute force
 * with the known-device exemption, report-only mode, and a deny list. Each assessment is checked in the
 * audit trail; each page shows a plain reason and never a score.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../helpers/fixtures.ts';
import { loginError } from '../helpers/login.ts';
import {
  atCallback,
  auditEvents,
  browserAt,
  codesOf,
  createTotpUser,
  IPS,
  isStepUp,
  lastAssessment,
  passwordSignIn,
  putPolicy,
  reasonOn,
  redeem,
  startWorld,
  type SignInWorld,
} from './fixture.ts';

let world: SignInWorld;

beforeAll(async () => {
  world = await startWorld('risky');
});

afterAll(async () => {
  await world?.stop();
});

/** What a user must never see: scores, points, internal codes. */
function expectNoInternals(html: string): void {
  expect(html).not.toMatch(/score|points|impossible_travel|spray_source|new_device|policyRule/i);
}

describe('impossible travel', () => {
  it('Paris, then Sydney minutes later: step-up with the reason, recorded with its evidence', async () => {
    await putPolicy(world, {});
    const user = await createTotpUser(world, 'pat');
    const paris = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(atCallback(paris.page.url)).toBe(true);

    const sydney = await passwordSignIn(world, browserAt(IPS.sydney), user);
    expect(atCallback(sydney.page.url)).toBe(false);
    expect(isStepUp(sydney.page)).toBe(true);
    const reason = reasonOn(sydney.page);
    expect(reason).toMatch(/too far from your last sign-in/);
    expect(reason).not.toMatch(/\d/);
    expectNoInternals(sydney.page.html);
    // The default policy wants a phishing-resistant factor at high risk: a passkey, not a code.
    expect(sydney.page.html).toContain('passkey');
    expect(sydney.page.html).not.toContain('name="code"');

    const event = await lastAssessment(world, user.id);
    expect(event.ip).toBe(IPS.sydney);
    expect(event.details).toMatchObject({ level: 'high', outcome: 'step-up', enforced: true, country: 'AU' });
    expect(event.details.score).toBeGreaterThanOrEqual(60);
    const travel = (event.details.contributions as { signal: string; code: string; points: number; details: Record<string, unknown> }[]).find(
      (c) => c.code === 'impossible_travel',
    );
    expect(travel).toMatchObject({ signal: 'travel', points: 60 });
    expect(travel?.details).toBeTruthy();
  });

  it('under a policy that accepts any second factor at high risk, a TOTP code finishes the sign-in', async () => {
    await putPolicy(world, { actions: { low: 'allow', medium: 'step-up', high: 'step-up' } });
    const user = await createTotpUser(world, 'quinn');
    expect(atCallback((await passwordSignIn(world, browserAt(IPS.paris), user)).page.url)).toBe(true);
    const sydney = await passwordSignIn(world, browserAt(IPS.sydney), user);
    expect(sydney.page.html).toContain('name="code"');
    const done = await sydney.browser.submit(sydney.page, '/step-up', { code: user.code(1) }, atCallback);
    const claims = (await redeem(world, sydney, done)).claims();
    expect(claims?.acr).toBe('urn:portcullis:acr:mfa');
    expect(claims?.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa', 'rba']));
  });
});

describe('new device', () => {
  it('steps up a new device under a policy that asks for it, and remembers the device afterwards', async () => {
    await putPolicy(world, { learning: { signIns: 0, days: 0 }, levels: { medium: 15, high: 90 } });
    const user = await createTotpUser(world, 'dina');
    const browser = browserAt(IPS.paris);
    const first = await passwordSignIn(world, browser, user);
    expect(isStepUp(first.page)).toBe(true);
    expect(reasonOn(first.page)).toMatch(/device we have not seen before/);
    expect(codesOf(await lastAssessment(world, user.id))).toContain('new_device');
    const done = await browser.submit(first.page, '/step-up', { code: user.code(1) }, atCallback);
    expect(atCallback(done.url)).toBe(true);
    expect(browser.jar.names()).toContain('pc_device_risky');

    // Same browser, same network: the signed device cookie makes it a known device.
    // prompt=login: a new sign-in in the same browser, which keeps its cookies.
    const again = await passwordSignIn(world, browser, user, { prompt: 'login' });
    expect(atCallback(again.page.url)).toBe(true);
    const event = await lastAssessment(world, user.id);
    expect(codesOf(event)).toContain('known_device');
    expect(event.details.outcome).toBe('allow');
  });
});

describe('password spray', () => {
  it('after failures for 20 usernames from one subnet, the one correct password from it is stepped up', async () => {
    await putPolicy(world, {});
    for (let i = 1; i <= 20; i++) {
      const flow = await passwordSignIn(world, browserAt(`45.67.89.${i}`), { username: `victim${i}`, password: 'Winter2026!' });
      expect(flow.page.status).toBe(401);
    }
    const user = await createUser(world.server, world.tenant, 'sally');
    const flow = await passwordSignIn(world, browserAt('45.67.89.77'), user);
    expect(atCallback(flow.page.url)).toBe(false);
    expect(flow.page.status === 403 || isStepUp(flow.page)).toBe(true);
    expect(reasonOn(flow.page)).toMatch(/many failed sign-in attempts/);
    const event = await lastAssessment(world, user.id);
    expect(codesOf(event)).toContain('spray_source_success');
    expect(event.details.level).toBe('high');
  });
});

describe('brute force', () => {
  it('locks the account out of new browsers, while the user on a known device still signs in', async () => {
    await putPolicy(world, { lockout: { threshold: 3, minutes: 15 } });
    const user = await createUser(world.server, world.tenant, 'bruno');
    const home = browserAt(IPS.paris);
    expect(atCallback((await passwordSignIn(world, home, user)).page.url)).toBe(true);

    const attacker = browserAt('198.51.100.7');
    for (let i = 0; i < 3; i++) {
      const page = (await passwordSignIn(world, attacker, { username: 'bruno', password: `guess-${i}` })).page;
      expect(page.status).toBe(401);
      expect(loginError(page.html)).toBe('Incorrect username or password.');
    }
    // The right password now fails too, with the same message (nothing tells the attacker it was right).
    const locked = (await passwordSignIn(world, attacker, user)).page;
    expect(locked.status).toBe(401);
    expect(loginError(locked.html)).toBe('Incorrect username or password.');
    expect((await auditEvents(world, 'signin.locked')).length).toBeGreaterThan(0);

    // The user's own browser holds a device cookie of a device of this user: not locked out (prompt=login
    // makes it a new sign-in despite the session).
    const own = await passwordSignIn(world, home, user, { prompt: 'login' });
    expect(atCallback(own.page.url)).toBe(true);
    expect(codesOf(await lastAssessment(world, user.id))).toContain('repeated_failures');
  });
});

describe('report-only mode', () => {
  it('changes nothing but records the decision it would have made', async () => {
    await putPolicy(world, { mode: 'report-only' });
    const user = await createUser(world.server, world.tenant, 'rory');
    expect(atCallback((await passwordSignIn(world, browserAt(IPS.paris), user)).page.url)).toBe(true);
    const sydney = await passwordSignIn(world, browserAt(IPS.sydney), user);
    expect(atCallback(sydney.page.url)).toBe(true);
    const event = await lastAssessment(world, user.id);
    expect(event.details).toMatchObject({ outcome: 'step-up', enforced: false, mode: 'report-only', level: 'high' });
    expect(codesOf(event)).toContain('impossible_travel');
  });
});

describe('deny', () => {
  it('shows the plain reason and returns access_denied to the client', async () => {
    await putPolicy(world, { deny: { countries: ['AU'] } });
    const user = await createUser(world.server, world.tenant, 'dan');
    const flow = await passwordSignIn(world, browserAt(IPS.sydney), user);
    expect(flow.page.status).toBe(403);
    expect(reasonOn(flow.page)).toBe('Sign-in from your country is not allowed.');
    expectNoInternals(flow.page.html);
    const back = /<a href="([^"]+)">Return to/.exec(flow.page.html)?.[1] ?? '';
    const answer = await flow.browser.open(new URL(back.replace(/&amp;/g, '&'), flow.page.url).toString(), {}, atCallback);
    expect(new URL(answer.url).searchParams.get('error')).toBe('access_denied');
    const event = await lastAssessment(world, user.id);
    expect(event.details).toMatchObject({ outcome: 'deny', policyRule: 'deny.countries' });
    expect((await auditEvents(world, 'signin.denied', `user:${user.id}`)).length).toBe(1);
  });
});

describe('throttles', () => {
  // The progressive delay (1 s after 3 failures, doubling) is covered by test/risk/lockout.test.ts with a
  // hand-moved clock: over HTTP it would be a race against the wall clock.
  it('answers 429 with Retry-After to an address with too many failures', async () => {
    await putPolicy(world, {});
    const ip = '198.51.100.50';
    for (let i = 0; i < 50; i++) {
      expect((await passwordSignIn(world, browserAt(ip), { username: `nobody${i}`, password: 'x' })).page.status).toBe(401);
    }
    const user = await createUser(world.server, world.tenant, 'tobias');
    const throttled = (await passwordSignIn(world, browserAt(ip), user)).page;
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect(loginError(throttled.html)).toMatch(/Too many sign-in attempts/);
  });
});
