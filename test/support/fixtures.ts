import { TAG } from '../../lambdas/core/contracts';
import { InMemoryLedger, InMemoryRevocationScheduler } from './fakes/in-memory-ledger';
import { capturedText, recordCapture, recordSecret } from './secret-scan';

/** Well-formed Thought Industries keys used across tests (fake: they only work against stubs and sandboxes). */
export const TI_LIVE_OLD = 'ti_live_OLDoldOLDold0000000001';
export const TI_LIVE_NEW = 'ti_live_NEWnewNEWnew0000000002';
export const TI_TEST_KEY = 'ti_test_SANDsandSAND00000000003';
recordSecret(TI_LIVE_OLD, TI_LIVE_NEW, TI_TEST_KEY);
export const BASE_URL = 'https://acme.thoughtindustries.com';

export function tiValue(apiKey: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ provider: 'thought-industries', environment: 'production', baseUrl: BASE_URL, apiKey, ...overrides });
}

export function tiTags(environment = 'production', baseUrl = BASE_URL): Record<string, string> {
  return { [TAG.provider]: 'thought-industries', [TAG.environment]: environment, [TAG.kind]: 'api-key', [TAG.baseUrl]: baseUrl };
}

/**
 * A logger port that keeps every line, for assertions and secret scans (each line is also recorded for the
 * suite-wide one: core code must not hand a secret to the logger, even though the Lambda logger would redact it).
 */
export function captureLogger() {
  const lines: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    const line = { level, message, ...(attributes ? { attributes } : {}) };
    recordCapture('logger-port', capturedText(line));
    return lines.push(line);
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, text: () => JSON.stringify(lines) };
}

export const NO_WAIT = { attempts: 3, initialDelayMs: 1, sleep: async () => undefined };

/** The ledger and revocation scheduler a rotation needs, as in-memory fakes; grace period 24 h. */
export function rotationFakes() {
  return { ledger: new InMemoryLedger(), revocations: new InMemoryRevocationScheduler(), gracePeriodMs: 24 * 3_600_000 };
}
