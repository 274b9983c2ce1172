/**
 * Provider base URLs must use https://. Plain http:// is accepted only for loopback hosts,
 * which is where the local platform sandboxes run in tests and `npm run local`.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopbackHost(hostname: string): boolean {
  if (LOOPBACK_HOSTS.has(hostname)) return true;
  const octets = hostname.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/**
 * Returns why `value` is not an acceptable provider base URL, or `undefined` when it is.
 * @example baseUrlProblem('http://acme.example.com') // 'must use https:// (plain http:// is allowed only for loopback hosts)'
 */
export function baseUrlProblem(value: string): string | undefined {
  // URL drops surrounding spaces and any tab or newline, so `${value}/path` would not be what was checked.
  if (/\s/.test(value)) return 'must not contain spaces or line breaks';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://acme.thoughtindustries.com';
  }
  if (url.username || url.password) return 'must not contain credentials';
  // An empty "?" or "#" leaves search and hash empty but would still swallow the path appended to the base.
  if (url.search || url.hash || /[?#]/.test(value)) return 'must not contain a query string or fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
  if (url.protocol === 'http:') return 'must use https:// (plain http:// is allowed only for loopback hosts)';
  // The scheme is not quoted: a value pasted into the wrong field may be a credential that parses as one.
  return 'must use https:// (no other scheme is accepted)';
}

/** The base URL without a trailing slash, so `${base}/incoming/v2/users` is always well formed. */
export function normaliseBaseUrl(value: string): string {
  return value.replace(/\/+$/, '');
}
