/** Numbers the refresher and the rotation steps report (Powertools Metrics in Lambdas; a capture in tests). */
export interface MetricsPort {
  count(name: string, value?: number): void;
  /** A measurement with its unit, e.g. seconds of token lifetime left at renewal. */
  record(name: string, value: number, unit: 'Seconds' | 'Count' | 'Milliseconds'): void;
}

export const NO_METRICS: MetricsPort = { count() {}, record() {} };
