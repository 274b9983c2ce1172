/** The structured logger core code writes to (Powertools Logger in Lambdas; a capture in tests). */
export interface LoggerPort {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** A logger that drops everything (CLI paths that print their own output). */
export const SILENT_LOGGER: LoggerPort = { debug() {}, info() {}, warn() {}, error() {} };
