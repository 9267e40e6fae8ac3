/**
 * A minimal user agent over fetch: a cookie jar, manual redirects, and form submission by field name.
 * It drives the real login pages over HTTP the way a browser without JavaScript would.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || attrs.some((a) => /^\s*max-age=0/i.test(a));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  names(): string[] {
    return [...this.#cookies.keys()];
  }
}

export interface Page {
  readonly url: string;
  readonly status: number;
  readonly html: string;
  readonly headers: Headers;
}

export class Browser {
  readonly jar = new CookieJar();
  readonly headers: Record<string, string>;

  constructor(headers: Record<string, string> = {}) {
    this.headers = headers;
  }

  /** Requests `url` and follows redirects until a page answers or `stopAt(url)` is true for a Location. */
  async open(url: string, init: RequestInit = {}, stopAt?: (url: string) => boolean): Promise<Page> {
    let current = url;
    let request: RequestInit = init;
    for (let hops = 0; hops < 20; hops++) {
      const res = await fetch(current, {
        ...request,
        redirect: 'manual',
        headers: { ...this.headers, ...(request.headers as Record<string, string> | undefined), cookie: this.jar.header() },
      });
      this.jar.store(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current).toString();
        await res.arrayBuffer();
        if (stopAt?.(next)) return { url: next, status: res.status, html: '', headers: res.headers };
        current = next;
        request = {};
        continue;
      }
      return { url: current, status: res.status, html: await res.text(), headers: res.headers };
    }
    throw new Error('too many redirects');
  }

  /** Submits the form whose action contains `actionPart`, with its hidden fields plus `fields`. */
  async submit(page: Page, actionPart: string, fields: Record<string, string>, stopAt?: (url: string) => boolean): Promise<Page> {
    const form = findForm(page.html, actionPart);
    const body = new URLSearchParams({ ...form.hidden, ...fields });
    return this.open(
      new URL(form.action, page.url).toString(),
      { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      stopAt,
    );
  }
}

export function findForm(html: string, actionPart: string): { action: string; hidden: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const match = forms.find((f) => f[1]?.includes(actionPart));
  if (!match?.[1]) throw new Error(`no form with action containing ${actionPart} in:\n${html.slice(0, 2000)}`);
  const hidden: Record<string, string> = {};
  for (const input of (match[2] ?? '').matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) hidden[name] = decodeEntities(value);
  }
  return { action: decodeEntities(match[1]), hidden };
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
