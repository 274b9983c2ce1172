/** What the revoker needs to revoke an old key later. Holds no secret. */
export interface RevocationRequest {
  readonly secretArn: string;
  /** The rotation that replaced the key (names the schedule, so scheduling twice is harmless). */
  readonly token: string;
  /** The secret version that held the old key; the revoker refuses while it is AWSCURRENT. */
  readonly versionId: string;
  readonly providerKeyId: string;
  readonly fingerprint: string;
}

export interface RevocationScheduler {
  /**
   * Schedules a one-time revocation at `at` (deleted after it runs).
   * @returns `already-scheduled` when this rotation's revocation already exists.
   */
  schedule(request: RevocationRequest, at: Date): Promise<'scheduled' | 'already-scheduled'>;
}
