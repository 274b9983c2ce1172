/**
 * "One alert per failure, not one per retry": Secrets Manager retries a failed rotation step, the
 * refresher retries every run and EventBridge retries a failed delivery, and each of them would
 * otherwise page a person again. The deduper remembers which failures were already alerted.
 */
export interface AlertKey {
  /** The secret's name (ARNs are reduced to names, so keyrotor's and Secrets Manager's events meet). */
  readonly secret: string;
  /** What kind of alert, e.g. `RotationFailed/createSecret/WARNING`. */
  readonly kind: string;
  /** What identifies the failing attempt's family: a rotation token, an expiry, or a day. */
  readonly rotation?: string;
  /** The error's class, so a different failure of the same rotation alerts again. */
  readonly errorName?: string;
}

export interface AlertDeduper {
  /**
   * Claims the key. True the first time (send the alert), false when it was already claimed
   * within the deduper's memory (the alert went out already).
   */
  firstTime(key: AlertKey): Promise<boolean>;
  /** Releases a claim whose alert could not be sent, so the retry of the delivery alerts. */
  forget(key: AlertKey): Promise<void>;
}

/** Remembers nothing: every alert goes out (local runs, tests). */
export const NO_DEDUPE: AlertDeduper = {
  async firstTime() {
    return true;
  },
  async forget() {},
};
