import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsPort } from '../ports/metrics';

/** Adapts Powertools Metrics (EMF in the function's logs) to the port core code writes to. */
export function metricsPort(metrics: Metrics): MetricsPort {
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    record: (name, value, unit) => metrics.addMetric(name, MetricUnit[unit], value),
    recordWithDimensions: (name, value, dimensions) => {
      // A single metric keeps the function's default dimensions (service) and is flushed at once.
      const single = metrics.singleMetric();
      for (const [dimension, dimensionValue] of Object.entries(dimensions)) single.addDimension(dimension, dimensionValue);
      single.addMetric(name, MetricUnit.NoUnit, value);
    },
  };
}
