import { describe, expect, it } from 'vitest';
import { userAgentFamily } from './user-agent.ts';

describe('userAgentFamily', () => {
  it('names the browser, most specific first', () => {
    expect(userAgentFamily('Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36 Edg/142.0')).toBe('Edge');
    expect(userAgentFamily('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36')).toBe('Chrome');
    expect(userAgentFamily('Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0')).toBe('Firefox');
    expect(userAgentFamily('Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1')).toBe('Safari');
    expect(userAgentFamily('curl/8.5.0')).toBe('automation');
    expect(userAgentFamily(undefined)).toBe('unknown');
    expect(userAgentFamily('SomethingElse/1.0')).toBe('other');
  });
});
