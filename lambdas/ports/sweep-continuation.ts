/** Where a sweep that ran short of time picks up, in the same run. */
export interface SweepContinuationRequest {
  /** The listing's cursor of the batch to pick up in; absent for the first batch. */
  readonly cursor?: string;
  /** How many secrets of that batch (in the sweep's interleaved order) are done already. */
  readonly skip?: number;
  /** The run this invocation belongs to (one run is a chain of invocations). */
  readonly runId: string;
}

/**
 * Hands the rest of a sweep to a fresh invocation (the sweep Lambda invoking itself
 * asynchronously; a capture in tests), so a run over many secrets is a chain of invocations
 * instead of one that times out.
 */
export interface SweepContinuation {
  continueWith(request: SweepContinuationRequest): Promise<void>;
}
