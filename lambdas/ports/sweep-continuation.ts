/** Where a sweep that ran short of time picks up: the next page of the listing, in the same run. */
export interface SweepContinuationRequest {
  /** The listing's cursor of the first page not swept yet. */
  readonly cursor: string;
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
