import * as fc from 'fast-check';
import { ConfigError } from '../../../lambdas/core/errors';
import { DEFAULT_SWEEP, parseConfig, sweepProblems, type SweepConfig } from '../../../lib/config';

/** A minimal valid config with `sweep` set as given (left out when undefined). */
function withSweep(sweep?: unknown): Record<string, unknown> {
  return {
    alerts: { emails: ['secops@example.com'] },
    credentials: [{ id: 'acme-prod', provider: 'thought-industries', environment: 'production', baseUrl: 'https://acme.thoughtindustries.com' }],
    ...(sweep === undefined ? {} : { sweep }),
  };
}

function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

describe('Config: sweep', () => {
  it('is optional: without the section the sweep runs with DEFAULT_SWEEP', () => {
    // Assess
    expect(parseConfig(withSweep()).sweep).toEqual(DEFAULT_SWEEP);
    expect(DEFAULT_SWEEP).toEqual({ scheduleExpression: 'cron(0 6 * * ? *)', warningDays: [14, 7, 3, 1], stuckAfterHours: 24, concurrency: 20 });
  });

  it('applies the defaults field by field', () => {
    // Assess
    expect(parseConfig(withSweep({})).sweep).toEqual(DEFAULT_SWEEP);
    expect(parseConfig(withSweep({ warningDays: [30, 7], concurrency: 8 })).sweep).toEqual({ ...DEFAULT_SWEEP, warningDays: [30, 7], concurrency: 8 });
  });

  it.each([
    ['cron(30 5 * * ? *)'],
    ['cron(0 6 ? * MON-FRI *)'],
    ['rate(1 day)'],
    ['rate(12 hours)'],
    ['rate(1 hour)'],
    ['rate(90 minutes)'],
  ])('accepts the schedule %s', (scheduleExpression) => {
    // Assess
    expect(parseConfig(withSweep({ scheduleExpression })).sweep?.scheduleExpression).toBe(scheduleExpression);
  });

  it.each([
    ['daily', /must be an EventBridge Scheduler expression/],
    ['cron(0 6 * * ?)', /must be an EventBridge Scheduler expression/],
    ['rate(2 days)', /a rate must be from 1 hour to 1 day: the missed-sweep alarm expects a completed sweep every day/],
    ['rate(30 minutes)', /a rate must be from 1 hour to 1 day/],
    ['rate(1 hours)', /must say "1 hour"/],
    ['rate(2 day)', /must say "2 days"/],
  ])('refuses the schedule %s, saying why', (scheduleExpression, why) => {
    // Assess
    expect(issuesOf(withSweep({ scheduleExpression }))).toEqual([expect.stringMatching(new RegExp(`^sweep\\.scheduleExpression: ${why.source}`))]);
  });

  it('refuses warning days that are not descending, each naming its position', () => {
    // Assess
    expect(issuesOf(withSweep({ warningDays: [7, 14, 3, 3] }))).toEqual([
      'sweep.warningDays[1]: must be smaller than the day before it (7): list the days in descending order, each once',
      'sweep.warningDays[3]: must be smaller than the day before it (3): list the days in descending order, each once',
    ]);
  });

  it('refuses every other problem at once, each by field', () => {
    // Assess
    expect(issuesOf(withSweep({ warningDays: [14, 0.5], stuckAfterHours: 0, concurrency: 21, hourly: true }))).toEqual([
      'sweep.warningDays[1]: must be a whole number of days from 1 to 365',
      'sweep.stuckAfterHours: must be a whole number of hours from 1 to 168 (after which a pending rotation counts as stuck)',
      'sweep.concurrency: must be a whole number from 1 to 20 (secrets checked at once)',
      'sweep.hourly: is not a known field (check its spelling)',
    ]);
    expect(issuesOf(withSweep({ warningDays: [] }))).toEqual([expect.stringMatching(/^sweep\.warningDays: must list at least one day/)]);
    expect(issuesOf(withSweep({ warningDays: [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1] }))).toEqual(['sweep.warningDays: must list at most 10 days']);
  });

  it('accepts any descending list of whole days from 1 to 365 (at most 10), and sweepProblems agrees with parseConfig', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 365 }), { minLength: 1, maxLength: 10 }), (days) => {
        const warningDays = [...days].sort((a, b) => b - a);
        const settings: SweepConfig = { ...DEFAULT_SWEEP, warningDays };
        expect(sweepProblems(settings)).toEqual([]);
        expect(parseConfig(withSweep({ warningDays })).sweep?.warningDays).toEqual(warningDays);
      }),
    );
  });

  it('sweepProblems names the problems of settings built in code', () => {
    // Assess
    expect(sweepProblems({ scheduleExpression: 'rate(5 minutes)', warningDays: [1, 2], stuckAfterHours: 24, concurrency: 0 })).toEqual([
      expect.stringMatching(/^sweep\.scheduleExpression: a rate must be from 1 hour to 1 day/),
      'sweep.warningDays[1]: must be smaller than the day before it (1): list the days in descending order, each once',
      'sweep.concurrency: must be a whole number from 1 to 20 (secrets checked at once)',
    ]);
  });
});
