import type { Ledger, LedgerEvent } from '../ports/ledger';
import type { LoggerPort } from '../ports/logger';

/**
 * Appends an event to the ledger after the fact. Used where the work it records is already
 * done and safe (a key stored, promoted, handed over): a ledger outage is logged, never allowed
 * to fail that work. The write-ahead intent is not recorded this way; it must succeed first.
 */
export async function recordAfterTheFact(ledger: Ledger, logger: LoggerPort, event: LedgerEvent): Promise<void> {
  try {
    await ledger.record(event);
  } catch (error) {
    logger.warn('could not append to the ledger', { state: event.state, clientRequestToken: event.token, errorName: error instanceof Error ? error.name : 'unknown' });
  }
}
