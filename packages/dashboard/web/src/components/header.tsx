/** The page header: subnet name, navigation (collapsing to a menu on a phone), live indicator, admin login. */
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useAuth } from '../auth';
import { type Connection, useLive } from '../live';
import type { Route } from '../router';
import { useAction } from '../useAction';
import { ErrorMessage } from './common';

const LINKS = [
  { href: '#/', page: 'overview', label: 'Overview' },
  { href: '#/leaderboard', page: 'leaderboard', label: 'Leaderboard' },
  { href: '#/emissions', page: 'emissions', label: 'Emissions' },
  { href: '#/models', page: 'models', label: 'Models' },
  { href: '#/payments', page: 'payments', label: 'Payments' },
  { href: '#/keys', page: 'keys', label: 'Keys' },
] as const;

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

export function ConnectionIndicator() {
  const { connection, snapshot } = useLive();
  return (
    <p className={`connection connection-${connection}`} data-testid="connection" data-state={connection}>
      <span className="dot" aria-hidden="true" />
      <span role="status">{CONNECTION_TEXT[connection]}</span>
      {snapshot?.block && <span className="connection-block">block {snapshot.block.number}</span>}
    </p>
  );
}

export function Login() {
  const { token, login, logout } = useAuth();
  const [value, setValue] = useState('');
  const { busy, error, run } = useAction();
  const inputId = useId();

  if (token) {
    return (
      <div className="login">
        <span className="badge">Admin</span>
        <button type="button" className="secondary" data-testid="logout" onClick={logout}>
          Log out
        </button>
      </div>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    await run(async () => {
      await login(value.trim());
      setValue('');
    });
  };

  return (
    <form className="login" onSubmit={submit}>
      <label htmlFor={inputId} className="visually-hidden">
        Admin token
      </label>
      <input
        id={inputId}
        type="password"
        autoComplete="off"
        placeholder="Admin token"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        data-testid="login-token"
      />
      <button type="submit" disabled={busy} data-testid="login-submit">
        Log in
      </button>
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </form>
  );
}

export function Header({ route }: { route: Route }) {
  const { snapshot } = useLive();
  const [open, setOpen] = useState(false);
  // Close the phone menu after navigating.
  // biome-ignore lint/correctness/useExhaustiveDependencies: route is the trigger
  useEffect(() => setOpen(false), [route]);
  const current = route.page === 'neuron' ? 'leaderboard' : route.page;
  return (
    <header className="site-header">
      <div className="brand">
        <a href="#/" className="brand-link">
          {snapshot?.subnet?.name ?? 'Subnet'}
          <span className="brand-sub"> dashboard</span>
        </a>
        <button
          type="button"
          className="menu-button secondary"
          aria-expanded={open}
          aria-controls="site-nav"
          onClick={() => setOpen((o) => !o)}
        >
          Menu
        </button>
      </div>
      <nav id="site-nav" aria-label="Main" className={open ? 'open' : undefined}>
        <ul>
          {LINKS.map((link) => (
            <li key={link.page}>
              <a href={link.href} aria-current={current === link.page ? 'page' : undefined}>
                {link.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="header-tools">
        <ConnectionIndicator />
        <Login />
      </div>
    </header>
  );
}
