/**
 * Keys (admin): create gateway API keys (the secret is shown once, with a copy button), list them with their
 * usage, revoke with a confirmation. The server checks the admin token on every call.
 */
import { type FormEvent, useId, useState } from 'react';
import type { CreatedKey, CreateKeyBody, Key, Keys, RevokedKey } from '../../../src/api';
import { useAuth } from '../auth';
import { request } from '../client';
import { ErrorMessage, Loading, PageTitle } from '../components/common';
import { ConfirmAction } from '../components/confirmAction';
import { formatTime } from '../format';
import { useAction } from '../useAction';
import { useApi } from '../useApi';

function CreateKeyForm({ token, onCreated }: { token: string; onCreated: (key: CreatedKey) => void }) {
  const [name, setName] = useState('');
  const [rpm, setRpm] = useState('');
  const [tpm, setTpm] = useState('');
  const { busy, error, run } = useAction();
  const uid = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: CreateKeyBody = { name: name.trim() };
    if (rpm) body.requestsPerMinute = Number(rpm);
    if (tpm) body.tokensPerMinute = Number(tpm);
    await run(async () => {
      const created = await request<CreatedKey>('/api/keys', { method: 'POST', body, token });
      setName('');
      setRpm('');
      setTpm('');
      onCreated(created);
    });
  };

  return (
    <form className="form-grid" onSubmit={submit} aria-labelledby={`${uid}-heading`}>
      <h2 id={`${uid}-heading`} className="form-title">
        Create a key
      </h2>
      <div className="field">
        <label htmlFor={`${uid}-name`}>Name</label>
        <input
          id={`${uid}-name`}
          required
          maxLength={64}
          value={name}
          onChange={(e) => setName(e.target.value)}
          data-testid="key-name"
        />
      </div>
      <div className="field">
        <label htmlFor={`${uid}-rpm`}>Requests per minute (optional)</label>
        <input
          id={`${uid}-rpm`}
          type="number"
          inputMode="numeric"
          min={1}
          max={1_000_000}
          step={1}
          value={rpm}
          onChange={(e) => setRpm(e.target.value)}
          data-testid="key-rpm"
        />
      </div>
      <div className="field">
        <label htmlFor={`${uid}-tpm`}>Tokens per minute (optional)</label>
        <input
          id={`${uid}-tpm`}
          type="number"
          inputMode="numeric"
          min={1}
          max={1_000_000_000}
          step={1}
          value={tpm}
          onChange={(e) => setTpm(e.target.value)}
          data-testid="key-tpm"
        />
      </div>
      <div className="field field-submit">
        <button type="submit" disabled={busy} data-testid="key-create">
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </div>
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </form>
  );
}

function CreatedSecret({ created, onDismiss }: { created: CreatedKey; onDismiss: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied.');
    } catch {
      setCopied('Copy failed: select the key and copy it by hand.');
    }
  };
  return (
    <div className="notice" role="status">
      <p>
        Key <strong>{created.name}</strong> created. Copy its secret now: it is not shown again.
      </p>
      <div className="secret">
        <code data-testid="key-secret">{created.secret}</code>
        <button type="button" onClick={copy} data-testid="key-copy">
          Copy
        </button>
        <button type="button" className="secondary" onClick={onDismiss}>
          Done
        </button>
      </div>
      {copied && <p className="muted">{copied}</p>}
    </div>
  );
}

function KeyTable({ keys, token, onChange }: { keys: Key[]; token: string; onChange: () => void }) {
  if (keys.length === 0) return <p className="muted">No keys yet.</p>;
  return (
    <div className="table-scroll">
      <table>
        <caption>Gateway API keys and their usage</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Limits (req/min, tok/min)</th>
            <th scope="col" className="num">
              Requests
            </th>
            <th scope="col" className="num">
              Tokens (in + out)
            </th>
            <th scope="col" className="num">
              Rejected
            </th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr
              key={k.id}
              data-testid="key-row"
              data-key-id={k.id}
              className={k.revokedAt ? 'revoked' : undefined}
            >
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{formatTime(k.createdAt)}</td>
              <td>
                {k.limits.requestsPerMinute.toLocaleString('en-US')} /{' '}
                {k.limits.tokensPerMinute.toLocaleString('en-US')}
              </td>
              <td className="num">{k.usage.requests.toLocaleString('en-US')}</td>
              <td className="num">
                {k.usage.promptTokens.toLocaleString('en-US')} +{' '}
                {k.usage.completionTokens.toLocaleString('en-US')}
              </td>
              <td className="num">{k.usage.rejected.toLocaleString('en-US')}</td>
              <td>{formatTime(k.usage.lastUsedAt)}</td>
              <td>
                {k.revokedAt ? (
                  <span className="tag">revoked {formatTime(k.revokedAt)}</span>
                ) : (
                  <ConfirmAction
                    label="Revoke"
                    ariaLabel={`Revoke key ${k.name}`}
                    testid="key-revoke"
                    question="Revoke?"
                    confirmLabel="Yes, revoke"
                    confirmTestid="key-revoke-confirm"
                    action={() =>
                      request<RevokedKey>(`/api/keys/${encodeURIComponent(k.id)}`, {
                        method: 'DELETE',
                        token,
                      })
                    }
                    onDone={onChange}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AdminKeys({ token }: { token: string }) {
  const keys = useApi<Keys>('/api/keys', null, token);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  return (
    <>
      <CreateKeyForm
        token={token}
        onCreated={(key) => {
          setCreated(key);
          keys.reload();
        }}
      />
      {created && <CreatedSecret created={created} onDismiss={() => setCreated(null)} />}
      <h2>Keys</h2>
      {keys.error && <ErrorMessage>{keys.error}</ErrorMessage>}
      {keys.data ? (
        <KeyTable keys={keys.data.keys} token={token} onChange={keys.reload} />
      ) : (
        !keys.error && <Loading what="keys" />
      )}
    </>
  );
}

export function KeysPage() {
  const { token } = useAuth();
  return (
    <section data-testid="page-keys">
      <PageTitle title="Keys">API keys</PageTitle>
      <p className="lede">
        Keys for the gateway's OpenAI-compatible API (<code>/v1</code>), with per-key rate limits and usage.
      </p>
      {token ? (
        <AdminKeys token={token} />
      ) : (
        <p className="notice">
          Managing keys needs the admin token: enter it in the header (from{' '}
          <code>subnet gateway admin-token</code> or the devnet printout).
        </p>
      )}
    </section>
  );
}
