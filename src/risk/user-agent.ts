/**
 * User-agent facts for risk signals: a coarse browser family (what the device list shows) and whether the
 * agent announces itself as automation. A user agent is attacker-controlled: it can raise risk, never
 * lower it. Pure, no I/O.
 */

/** Browser or client family, most specific first (Edge and Opera also say "Chrome", Chrome says "Safari"). */
const FAMILIES: readonly (readonly [string, RegExp])[] = [
  ['Edge', /\bEdg(?:e|A|iOS)?\//],
  ['Opera', /\bOPR\/|\bOpera\b/],
  ['Samsung Internet', /\bSamsungBrowser\//],
  ['Firefox', /\bFirefox\/|\bFxiOS\//],
  ['Chrome', /\bChrome\/|\bCriOS\/|\bChromium\//],
  ['Safari', /\bSafari\//],
];

/** Agents that announce automation: crawlers, HTTP libraries, headless browsers, scripting tools. */
const BOT =
  /bot\b|crawl|spider|slurp|headless|phantomjs|puppeteer|playwright|selenium|curl\/|wget\/|python-requests|python-urllib|aiohttp|httpx|go-http-client|java\/|okhttp|libwww-perl|node-fetch|axios\/|undici|scrapy|postmanruntime|insomnia|hydra/i;

export function userAgentFamily(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  for (const [name, pattern] of FAMILIES) if (pattern.test(userAgent)) return name;
  if (BOT.test(userAgent)) return 'automation';
  return 'other';
}

export function isAutomationAgent(userAgent: string): boolean {
  return BOT.test(userAgent);
}
