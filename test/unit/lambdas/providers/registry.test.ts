import { PROVIDER_IDS, type ProviderId } from '../../../../lambdas/core/contracts';
import { KeyrotorError } from '../../../../lambdas/core/errors';
import { createProviderRegistry, SUPPORTED, UnsupportedProviderError } from '../../../../lambdas/providers/registry';

describe('Function: createProviderRegistry', () => {
  const registry = createProviderRegistry();

  it('implements every known provider', () => {
    expect([...SUPPORTED].sort()).toEqual([...PROVIDER_IDS].sort());
  });

  it.each(SUPPORTED)('returns the %s provider, once per registry', (id) => {
    const provider = registry.get(id);
    expect(provider.id).toBe(id);
    expect(registry.get(id)).toBe(provider);
  });

  // No provider may be faked into looking automatic: a declared capability has its operation, and an operation its capability.
  it.each(SUPPORTED)('%s declares exactly the capabilities it implements', (id) => {
    const provider = registry.get(id);
    expect(typeof provider.issueKey === 'function').toBe(provider.capabilities.issueByApi);
    expect(typeof provider.revokeKey === 'function').toBe(provider.capabilities.revokeByApi);
    expect(typeof provider.listKeys === 'function').toBe(provider.capabilities.listKeys);
    expect(provider.manual.issue({ secretName: 's', baseUrl: 'https://x.example.com', environment: 'production', keyName: 'k' }).length).toBeGreaterThan(20);
  });

  it('throws UnsupportedProviderError naming the supported ones for an unknown id', () => {
    const error = (() => {
      try {
        registry.get('moodle' as ProviderId);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UnsupportedProviderError);
    expect(error).toBeInstanceOf(KeyrotorError);
    expect(error?.message).toMatch(/^provider "moodle" is not supported by this keyrotor release \(supported: thought-industries, /);
  });
});
