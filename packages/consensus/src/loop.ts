/**
 * A loop of the consensus stack (the validator loop, later the epoch agent): started once the shared
 * chain view follows the chain, stopped in reverse order when the stack stops. Idempotent.
 */
export interface Loop {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}
