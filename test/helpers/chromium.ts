/**
 * Real Chromium (the Debian package at /usr/bin/chromium, never a downloaded build) driven by
 * playwright-core, with a CDP WebAuthn virtual authenticator: a platform authenticator that keeps
 * discoverable credentials and verifies the user.
 * @see https://chromedevtools.github.io/devtools-protocol/tot/WebAuthn/
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** A normal desktop Chrome, so the risk engine's automation rule sees an ordinary browser. */
const DESKTOP_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

export interface ChromiumSession {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
  /** Credential ids (base64) the virtual authenticator holds. */
  credentials(): Promise<{ credentialId: string; signCount: number; rpId: string }[]>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<ChromiumSession> {
  const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    userAgent: DESKTOP_CHROME,
    locale: 'en-GB',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    context,
    page,
    cdp,
    authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials.map((c) => ({ credentialId: c.credentialId, signCount: c.signCount, rpId: c.rpId ?? '' }));
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A client's redirect URI: a local HTTP server that answers 200, so the browser stops there. */
export interface CallbackServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const server = createServer((_req, res) => res.end('callback'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
