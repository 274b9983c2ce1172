/** Numbers the refresher and the rotation steps report (Powertools Metrics in Lambdas; a capture in tests). */
export interface MetricsPort {
  count(name: string, value?: number): void;
  /** A measurement with its unit, e.g. seconds of token lifetime left at renewal. */
  record(name: string, value: number, unit: 'Seconds' | 'Count' | 'Milliseconds'): void;
  /**
   * A measurement under extra dimensions, published as its own record, e.g. a key's age in days
   * with `{ provider }`. Each distinct set of dimension values is a separate (billed) metric:
   * keep them few — a provider, never a secret. The unit is in the name (`KeyAgeDays`).
   * Optional: ports that do not support dimensions drop these.
   */
  recordWithDimensions?(name: string, value: number, dimensions: Readonly<Record<string, string>>): void;
}

export const NO_METRICS: MetricsPort = { count() {}, record() {} };
