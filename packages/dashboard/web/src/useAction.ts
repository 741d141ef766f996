/**
 * `useAction()`: the state of a change sent to the server from a form or a button: `busy` while it runs and
 * the error message if it failed (cleared when it runs again).
 */
import { useState } from 'react';
import { errorMessage } from './client';

export interface ActionState {
  busy: boolean;
  error: string | null;
  run(action: () => Promise<void>): Promise<void>;
}

export function useAction(): ActionState {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
