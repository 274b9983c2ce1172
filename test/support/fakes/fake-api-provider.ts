import { randomBytes, randomUUID } from 'node:crypto';
import { ProviderAuthError, ProviderUnavailableError } from '../../../lambdas/core/errors';
import type { ManagedSecretValue } from '../../../lambdas/core/secret-value';
import type { IssueRequest, KeyRecord, Provider, RevokeRequest } from '../../../lambdas/ports/provider';
import type { ProviderRegistry } from '../../../lambdas/providers/registry';
import { recordSecret } from '../secret-scan';

type ImburseValue = Extract<ManagedSecretValue, { provider: 'imburse' }>;

interface PlatformKey {
  publicKey: string;
  privateKey: string;
  name: string;
  active: boolean;
}

/**
 * An in-process platform that issues, lists and revokes keys by API (shaped like Imburse's
 * tenant keys), for unit tests of the engine. Failures can be injected per operation.
 */
export class FakeApiPlatform {
  public readonly keys = new Map<string, PlatformKey>();
  public readonly calls: string[] = [];
  public readonly failNext = new Map<'issue' | 'revoke' | 'list' | 'verify', Error>();

  public addKey(name = 'initial'): { publicKey: string; privateKey: string } {
    const key = { publicKey: randomUUID(), privateKey: randomBytes(32).toString('base64'), name, active: true };
    recordSecret(key.privateKey); // the public key is a key id, not a secret
    this.keys.set(key.publicKey, key);
    return key;
  }

  public activeKeys(): PlatformKey[] {
    return [...this.keys.values()].filter((k) => k.active);
  }

  readonly #authenticate = (value: ImburseValue, op: 'issue' | 'revoke' | 'list' | 'verify'): void => {
    this.calls.push(op);
    const failure = this.failNext.get(op);
    if (failure) {
      this.failNext.delete(op);
      throw failure;
    }
    const key = this.keys.get(value.publicKey);
    if (!key || !key.active || key.privateKey !== value.privateKey) throw new ProviderAuthError('imburse', 'Invalid key');
  };

  public provider(): Provider<ImburseValue> {
    const authenticate = this.#authenticate;
    const keys = this.keys;
    const addKey = (name: string) => this.addKey(name);
    return {
      id: 'imburse',
      displayName: 'Fake Imburse',
      capabilities: { issueByApi: true, revokeByApi: true, listKeys: true, shortLivedTokens: true, twoLiveKeys: true },
      manual: { issue: () => 'create a key in the portal', revoke: (c) => `delete key ${c.fingerprint} in the portal` },
      parseSubmission: () => ({}),
      formatProblems: () => [],
      keyIdOf: (value) => value.publicKey,
      async verify(value) {
        authenticate(value, 'verify');
        return { checked: 'fake exchange → 200' };
      },
      async issueKey(request: IssueRequest<ImburseValue>) {
        authenticate(request.current, 'issue');
        const key = addKey(request.keyName);
        return { value: { ...request.current, publicKey: key.publicKey, privateKey: key.privateKey }, providerKeyId: key.publicKey };
      },
      async revokeKey(request: RevokeRequest<ImburseValue>) {
        authenticate(request.authenticateWith, 'revoke');
        const key = keys.get(request.providerKeyId);
        if (!key || !key.active) return 'already-revoked';
        key.active = false;
        return 'revoked';
      },
      async listKeys(request: { authenticateWith: ImburseValue }): Promise<KeyRecord[]> {
        authenticate(request.authenticateWith, 'list');
        return [...keys.values()].filter((k) => k.active).map((k) => ({ providerKeyId: k.publicKey, name: k.name, active: k.active }));
      },
    };
  }

  public registry(): ProviderRegistry {
    const provider = this.provider() as unknown as Provider;
    return { get: () => provider };
  }
}

export const unavailable = (): Error => new ProviderUnavailableError('imburse', 'POST /v1/tenant/t/keys timed out after 10000 ms');
