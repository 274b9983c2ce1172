/**
 * A `fetch` stand-in for unit tests (no network): answers like Thought Industries' REST API
 * for the keys it is told are valid, and records what it was asked.
 */
import { recordSecret } from '../secret-scan';
import { json } from './fetch-stub';

export interface FetchCall {
  readonly url: string;
  readonly method: string;
  readonly authorization: string | undefined;
}

export interface StubbedPlatform {
  readonly fetch: typeof fetch;
  readonly calls: FetchCall[];
  readonly validKeys: Set<string>;
  /** Responses to return before the normal behaviour, in order. */
  readonly queue: (() => Response)[];
}

export const UNAUTHORIZED_BODY = { error: 'unauthorized', message: 'Invalid or expired API key.' };

export { json };

export function stubThoughtIndustries(validKeys: string[] = []): StubbedPlatform {
  recordSecret(...validKeys);
  const platform: StubbedPlatform = {
    calls: [],
    validKeys: new Set(validKeys),
    queue: [],
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      const authorization = headers.get('authorization') ?? undefined;
      recordSecret(authorization?.replace(/^Bearer /, '')); // the key the code under test sent
      platform.calls.push({ url: String(input), method: init?.method ?? 'GET', authorization });
      const queued = platform.queue.shift();
      if (queued) return queued();
      const key = authorization?.replace(/^Bearer /, '');
      if (!key || !platform.validKeys.has(key)) return json(401, UNAUTHORIZED_BODY);
      return json(200, { pageInfo: { total: 1, limit: 1, cursor: null }, users: [{ id: 'u1' }] });
    }) as typeof fetch,
  };
  return platform;
}
