/** A button that asks for confirmation inline (the question, a danger button and Cancel) before it acts. */
import { type ReactNode, useState } from 'react';
import { useAction } from '../useAction';
import { ErrorMessage } from './common';

export interface ConfirmActionProps {
  /** The button's text, e.g. "Revoke". */
  label: string;
  ariaLabel: string;
  testid: string;
  /** Asked once the button is pressed, e.g. "Revoke?". */
  question: ReactNode;
  /** The confirming button's text, e.g. "Yes, revoke". */
  confirmLabel: string;
  confirmTestid: string;
  /** The change, run on confirmation; a failure is shown beside the buttons. */
  action: () => Promise<unknown>;
  /** Called after the change succeeded. */
  onDone: () => void;
}

export function ConfirmAction({
  label,
  ariaLabel,
  testid,
  question,
  confirmLabel,
  confirmTestid,
  action,
  onDone,
}: ConfirmActionProps) {
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const confirm = () =>
    run(async () => {
      await action();
      setConfirming(false);
      onDone();
    });
  return (
    <span className="inline-actions">
      {confirming ? (
        <>
          <span>{question}</span>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={confirm}
            data-testid={confirmTestid}
          >
            {confirmLabel}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button
          type="button"
          className="secondary"
          onClick={() => setConfirming(true)}
          aria-label={ariaLabel}
          data-testid={testid}
        >
          {label}
        </button>
      )}
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </span>
  );
}
