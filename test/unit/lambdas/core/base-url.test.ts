import { baseUrlProblem, normaliseBaseUrl } from '../../../../lambdas/core/base-url';

describe('Function: baseUrlProblem', () => {
  it.each([
    'https://acme.thoughtindustries.com',
    'https://acme.thoughtindustries.com/',
    'https://acme.example.com:8443/tenant/api',
    'HTTPS://ACME.EXAMPLE.COM',
    'https://[2001:db8::1]',
    'http://localhost:4010',
    'http://LOCALHOST',
    'http://127.0.0.1:4010',
    'http://127.255.255.254',
    'http://[::1]:8080/',
  ])('accepts %s', (value) => {
    expect(baseUrlProblem(value)).toBeUndefined();
  });

  it.each([
    ['http://acme.thoughtindustries.com', 'must use https:// (plain http:// is allowed only for loopback hosts)'],
    ['http://10.0.0.5', 'must use https:// (plain http:// is allowed only for loopback hosts)'],
    ['http://128.0.0.1', 'must use https:// (plain http:// is allowed only for loopback hosts)'],
    ['http://localhost.evil.example', 'must use https:// (plain http:// is allowed only for loopback hosts)'],
    ['http://127.0.0.1.nip.io', 'must use https:// (plain http:// is allowed only for loopback hosts)'],
  ])('refuses plain http to a host that is not loopback: %s', (value, problem) => {
    expect(baseUrlProblem(value)).toBe(problem);
  });

  it('accepts the shorthand forms of a loopback address, which URL normalises', () => {
    expect(baseUrlProblem('http://127.1')).toBeUndefined();
    expect(baseUrlProblem('http://0x7f000001')).toBeUndefined();
  });

  it.each(['ftp://acme.example.com', 'ws://localhost', 'file:///etc/passwd', 'javascript:alert(1)'])('refuses the scheme of %s', (value) => {
    expect(baseUrlProblem(value)).toMatch(/^must use https:\/\//);
  });

  it('does not quote what it was given, even a scheme', () => {
    // A value pasted into the wrong field may be a credential that happens to parse as a URL scheme
    expect(baseUrlProblem('sk-abcdefgh12345:')).not.toContain('abcdefgh12345');
    expect(baseUrlProblem('xk9Q2mZpL7wR4tN8:opaque')).not.toContain('xk9Q2mZpL7wR4tN8');
  });

  it.each(['acme.thoughtindustries.com', '/incoming/v2', '', 'https://', 'https://exa_mple.com:port'])('asks for an absolute URL instead of %j', (value) => {
    expect(baseUrlProblem(value)).toBe('must be an absolute URL such as https://acme.thoughtindustries.com');
  });

  it.each(['https://admin:secret@acme.example.com', 'https://token@acme.example.com', 'https://:pw@acme.example.com'])('refuses credentials in %s', (value) => {
    expect(baseUrlProblem(value)).toBe('must not contain credentials');
  });

  it.each(['https://acme.example.com?api_key=abc', 'https://acme.example.com/#section', 'https://acme.example.com/?', 'https://acme.example.com#'])(
    'refuses a query string or fragment in %s, even an empty one',
    (value) => {
      // An empty "?" or "#" would turn the path keyrotor appends into a query or fragment
      expect(baseUrlProblem(value)).toBe('must not contain a query string or fragment');
    },
  );

  it.each(['https://acme.example.com ', ' https://acme.example.com', 'https://acme.example.com\n', 'https://acme.\texample.com', 'https://exa mple.com'])(
    'refuses whitespace that URL would silently drop: %j',
    (value) => {
      // `${base}/incoming/v2/users` would not be the URL that was validated
      expect(baseUrlProblem(value)).toBe('must not contain spaces or line breaks');
    },
  );
});

describe('Function: normaliseBaseUrl', () => {
  it.each([
    ['https://acme.example.com', 'https://acme.example.com'],
    ['https://acme.example.com/', 'https://acme.example.com'],
    ['https://acme.example.com///', 'https://acme.example.com'],
    ['https://acme.example.com/tenant/', 'https://acme.example.com/tenant'],
  ])('turns %s into %s', (value, expected) => {
    expect(normaliseBaseUrl(value)).toBe(expected);
  });

  it('makes base + path a well-formed URL that passes the check', () => {
    const base = normaliseBaseUrl('https://acme.example.com/');

    expect(new URL(`${base}/incoming/v2/users`).pathname).toBe('/incoming/v2/users');
    expect(baseUrlProblem(base)).toBeUndefined();
  });
});
