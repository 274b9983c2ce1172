import type { ProviderId } from '../core/contracts';
import { KeyrotorError } from '../core/errors';
import type { Provider } from '../ports/provider';
import type { ProviderHttpClientOptions } from './http';
import { BossInsightsProvider } from './boss-insights';
import { ImburseProvider } from './imburse';
import { ThinkificProvider } from './thinkific';
import { ThriveProvider } from './thrive';
import { ThoughtIndustriesProvider } from './thought-industries';

/** Looks providers up by id. Adding a platform means adding it here, not touching the engine. */
export interface ProviderRegistry {
  get(id: ProviderId): Provider;
}

/** Raised for a provider id keyrotor knows of but does not implement yet. */
export class UnsupportedProviderError extends KeyrotorError {
  public constructor(id: string) {
    super(`provider "${id}" is not supported by this keyrotor release (supported: ${SUPPORTED.join(', ')})`);
    this.name = 'UnsupportedProviderError';
  }
}

type Factory = (http: Omit<ProviderHttpClientOptions, 'provider'>) => Provider;

const FACTORIES: Partial<Record<ProviderId, Factory>> = {
  'thought-industries': (http) => new ThoughtIndustriesProvider(http) as unknown as Provider,
  'boss-insights': (http) => new BossInsightsProvider(http) as unknown as Provider,
  imburse: (http) => new ImburseProvider(http) as unknown as Provider,
  thinkific: (http) => new ThinkificProvider(http) as unknown as Provider,
  thrive: (http) => new ThriveProvider(http) as unknown as Provider,
};

/** Provider ids this release implements. */
export const SUPPORTED = Object.keys(FACTORIES) as ProviderId[];

/** Builds a registry; `http` tunes every provider's HTTP client (tests shorten back-offs). */
export function createProviderRegistry(http: Omit<ProviderHttpClientOptions, 'provider'> = {}): ProviderRegistry {
  const cache = new Map<ProviderId, Provider>();
  return {
    get(id) {
      const cached = cache.get(id);
      if (cached) return cached;
      const factory = FACTORIES[id];
      if (!factory) throw new UnsupportedProviderError(id);
      const provider = factory(http);
      cache.set(id, provider);
      return provider;
    },
  };
}
