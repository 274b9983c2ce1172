import { isUnauthorized } from '../../../client';
import { ProviderAuthError } from '../../../lambdas/core/errors';

describe('Function: isUnauthorized', () => {
  it.each([
    ['a thrown fetch Response with status 401', () => new Response(null, { status: 401 })],
    ['an error with status 401 (ky, keyrotor)', () => Object.assign(new Error('Unauthorized'), { status: 401 })],
    ['an error with statusCode 401 (http-errors, undici)', () => Object.assign(new Error('Unauthorized'), { statusCode: 401 })],
    ['an error whose response.status is 401 (axios)', () => Object.assign(new Error('Request failed'), { response: { status: 401 } })],
    ['an error whose response.statusCode is 401 (got)', () => Object.assign(new Error('Response code 401'), { response: { statusCode: 401 } })],
    ['an error whose response is a fetch Response with status 401', () => ({ response: new Response(null, { status: 401 }) })],
    ["keyrotor's own ProviderAuthError", () => new ProviderAuthError('thought-industries', 'Invalid or expired API key.')],
  ])('is true for %s', (_what, make) => {
    expect(isUnauthorized(make())).toBe(true);
  });

  it.each([
    ['a fetch Response with status 403', () => new Response(null, { status: 403 })],
    ['a fetch Response with status 200', () => new Response(null, { status: 200 })],
    ["status '401' as a string", () => ({ status: '401' })],
    ['a message that mentions 401', () => new Error('HTTP 401 Unauthorized')],
    ['an AWS SDK error with httpStatusCode 401 (AWS, not the platform)', () => Object.assign(new Error('x'), { $metadata: { httpStatusCode: 401 } })],
    ['response.status 403', () => ({ response: { status: 403 } })],
    ['a response that is not an object', () => ({ response: 401 })],
    ['the number 401', () => 401],
    ['null', () => null],
    ['undefined', () => undefined],
  ])('is false for %s', (_what, make) => {
    expect(isUnauthorized(make())).toBe(false);
  });
});
