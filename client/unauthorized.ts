/**
 * The default test for "the platform rejected this credential" (HTTP 401), used by
 * `withFreshCredential` / `withFreshToken` and the middy middleware.
 *
 * It is true exactly when the thrown value is an object and one of these is the **number** 401:
 * - `error.status` — a fetch `Response` thrown as is, ky's and many HTTP libraries' errors,
 *   keyrotor's own `ProviderAuthError`;
 * - `error.statusCode` — Node/http-errors style errors, undici's `errors.ResponseError`;
 * - `error.response.status` — axios, ky (`HTTPError.response` is a fetch `Response`);
 * - `error.response.statusCode` — got.
 *
 * Anything else is not a 401: a string `'401'`, a 403, a message that mentions 401, and AWS
 * SDK errors (`$metadata.httpStatusCode`), since those come from AWS and not from the platform.
 * `fetch` itself does not throw on a 401: throw the `Response` (or an error carrying
 * `status`), or pass your own predicate as `isUnauthorized`.
 */
export function isUnauthorized(error: unknown): boolean {
  if (!isObject(error)) return false;
  if (error.status === 401 || error.statusCode === 401) return true;
  const response = error.response;
  return isObject(response) && (response.status === 401 || response.statusCode === 401);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
