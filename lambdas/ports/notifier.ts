export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A message for a person. Never holds a secret value. */
export interface Alert {
  readonly severity: Severity;
  /** One line: severity, what, which secret. */
  readonly subject: string;
  /** What happened, what keyrotor did, what a person must do next. */
  readonly body: string;
}

export interface Notifier {
  notify(alert: Alert): Promise<void>;
}
