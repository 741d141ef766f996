/** Small shared pieces: error and loading messages, stat cards, a page heading that takes focus. */
import { type ReactNode, useEffect, useRef } from 'react';

export function ErrorMessage({ children }: { children: ReactNode }) {
  return (
    <p className="error" role="alert" data-testid="error">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>
        <span className="stat-value">{value}</span>
        {hint !== undefined && <span className="stat-hint">{hint}</span>}
      </dd>
    </div>
  );
}

let navigated = false;

/** The page's `<h1>`; after the first page, it takes focus when a page opens so screen readers announce it. */
export function PageTitle({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Subnet dashboard`;
    if (navigated) ref.current?.focus();
    navigated = true;
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** A table of the numbers behind a chart, folded away under a summary. */
export function DataDetails({ summary, children }: { summary: string; children: ReactNode }) {
  return (
    <details className="data-details">
      <summary>{summary}</summary>
      <div className="table-scroll">{children}</div>
    </details>
  );
}
