/**
 * Payments (issue 15): the payment token, the prices per model and the revenue split (public), each miner's
 * payment earnings (public), a client's prepaid account by address (public), and for the operator (admin
 * token) the spend per account-bound key, the cost each miner served and the settlements. Amounts are shown
 * exactly, in the token's decimals. A chain without payment contracts says so.
 */
import { type FormEvent, useId, useState } from 'react';
import type { PaymentAccount, PaymentKeys, Payments } from '../../../src/api';
import { useAuth } from '../auth';
import { request } from '../client';
import { ErrorMessage, Loading, PageTitle, Stat } from '../components/common';
import { formatBps, formatDuration, formatTime, formatTokenAmount, shortKey } from '../format';
import { useLive } from '../live';
import { useAction } from '../useAction';
import { useApi } from '../useApi';

type Token = { symbol: string; decimals: number };
type Enabled<T> = Extract<T, { enabled: true }>;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function Terms({ data }: { data: Enabled<Payments> }) {
  const t = data.token;
  const amount = (a: string) => formatTokenAmount(a, t.decimals);
  return (
    <>
      <dl className="stats">
        <Stat label="Token" value={t.symbol} hint={`${t.name}, ${t.decimals} decimals`} />
        <Stat label="Validator fee" value={formatBps(data.split.validatorBps)} />
        <Stat label="Subnet owner fee" value={formatBps(data.split.ownerBps)} />
        <Stat label="Burn" value={formatBps(data.split.burnBps)} />
        <Stat label="Miners" value={formatBps(data.split.minerBps)} hint="pro rata to what they served" />
        <Stat label="Withdrawal notice" value={formatDuration(data.noticePeriodS)} />
      </dl>
      <div className="table-scroll">
        <table data-testid="payments-prices">
          <caption>Prices per million tokens ({t.symbol})</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="num">
                Prompt
              </th>
              <th scope="col" className="num">
                Completion
              </th>
              <th scope="col">Pending change</th>
            </tr>
          </thead>
          <tbody>
            {data.models.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No model is priced yet: requests are free.
                </td>
              </tr>
            )}
            {data.models.map((m) => (
              <tr key={m.model} data-testid="price-row">
                <td>{m.model}</td>
                <td className="num">{amount(m.promptPerMillion)}</td>
                <td className="num">{amount(m.completionPerMillion)}</td>
                <td>
                  {m.pending === null
                    ? '—'
                    : `${amount(m.pending.promptPerMillion)} / ${amount(m.pending.completionPerMillion)} from block ${m.pending.effectiveBlock}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table data-testid="payments-miners">
          <caption>Revenue per miner ({t.symbol})</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                UID
              </th>
              <th scope="col">Hotkey</th>
              <th scope="col" className="num">
                Unclaimed
              </th>
              <th scope="col" className="num">
                Claimed
              </th>
            </tr>
          </thead>
          <tbody>
            {data.miners.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No miner is registered yet.
                </td>
              </tr>
            )}
            {data.miners.map((m) => (
              <tr key={m.hotkey} data-testid="payments-miner-row" data-uid={m.uid}>
                <td className="num">
                  <a href={`#/neurons/${m.uid}`}>{m.uid}</a>
                </td>
                <td>
                  <code title={m.hotkey}>{shortKey(m.hotkey)}</code>
                </td>
                <td className="num">{amount(m.unclaimed)}</td>
                <td className="num">{amount(m.claimed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function BalanceLookup({ token }: { token: Token }) {
  const [address, setAddress] = useState('');
  const [account, setAccount] = useState<PaymentAccount | null>(null);
  const { busy, error, run } = useAction();
  const uid = useId();
  const amount = (a: string) => formatTokenAmount(a, token.decimals, token.symbol);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const a = address.trim();
    await run(async () => {
      setAccount(null);
      setAccount(await request<PaymentAccount>(`/api/payments/accounts/${encodeURIComponent(a)}`));
    });
  };

  return (
    <>
      <form className="form-grid" onSubmit={submit} aria-labelledby={`${uid}-heading`}>
        <h2 id={`${uid}-heading`} className="form-title">
          Balance lookup
        </h2>
        <div className="field">
          <label htmlFor={`${uid}-address`}>Client address</label>
          <input
            id={`${uid}-address`}
            required
            pattern={ADDRESS.source}
            title="a 0x-prefixed 20-byte hex address"
            placeholder="0x…"
            spellCheck={false}
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            data-testid="payments-address"
          />
        </div>
        <div className="field field-submit">
          <button type="submit" disabled={busy} data-testid="payments-lookup">
            {busy ? 'Looking up…' : 'Look up'}
          </button>
        </div>
        {error && <ErrorMessage>{error}</ErrorMessage>}
      </form>
      {account?.enabled === true && (
        <dl className="stats" data-testid="payments-account">
          <Stat
            label="Balance"
            value={amount(account.balance)}
            hint={`with gateway ${shortKey(account.gateway)}`}
          />
          <Stat
            label="Pending withdrawal"
            value={amount(account.pendingWithdrawal)}
            {...(account.withdrawableAt > 0
              ? { hint: `from ${formatTime(account.withdrawableAt * 1000)}` }
              : {})}
          />
          <Stat label="Spendable" value={amount(account.spendable)} />
          <Stat label="Wallet balance" value={amount(account.walletBalance)} />
        </dl>
      )}
    </>
  );
}

function AdminPayments({ token }: { token: string }) {
  const { snapshot } = useLive();
  const { data, error } = useApi<PaymentKeys>('/api/payments/keys', snapshot?.block?.number ?? null, token);
  if (error) return <ErrorMessage>{error}</ErrorMessage>;
  if (!data) return <Loading what="spend per key" />;
  if (!data.enabled) return null;
  const amount = (a: string | null) => (a === null ? '—' : formatTokenAmount(a, data.token.decimals));
  return (
    <>
      <h2>Spend per key ({data.token.symbol})</h2>
      <dl className="stats">
        <Stat label="Charged" value={amount(data.totals.charged)} />
        <Stat label="Collected" value={amount(data.totals.collected)} />
        <Stat label="Settled" value={amount(data.totals.settled)} />
        <Stat label="Settlements" value={data.totals.settlements} />
        {data.x402 !== undefined && (
          <Stat label="x402 paid" value={amount(data.x402.paid)} hint={`${data.x402.payments} payments`} />
        )}
      </dl>
      <div className="table-scroll">
        <table data-testid="payments-keys">
          <caption>Account-bound keys</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Client</th>
              <th scope="col" className="num">
                Cap
              </th>
              <th scope="col">Expiry</th>
              <th scope="col" className="num">
                Charged
              </th>
              <th scope="col" className="num">
                Collected
              </th>
              <th scope="col" className="num">
                Settled
              </th>
            </tr>
          </thead>
          <tbody>
            {data.keys.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  No client has bound a key yet (<code>subnet pay key</code>).
                </td>
              </tr>
            )}
            {data.keys.map((k) => (
              <tr key={k.id} data-testid="payments-key-row">
                <td>
                  {k.name} <code>{k.id}</code>
                  {k.revokedAt !== null && <span className="tag">revoked</span>}
                </td>
                <td>
                  <code title={k.client}>{shortKey(k.client)}</code>
                </td>
                <td className="num">{amount(k.cap)}</td>
                <td>{formatTime(Number(k.expiry) * 1000)}</td>
                <td className="num">{amount(k.charged)}</td>
                <td className="num">{amount(k.collected)}</td>
                <td className="num">{amount(k.settled)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table data-testid="payments-served">
          <caption>Cost served per miner</caption>
          <thead>
            <tr>
              <th scope="col">Miner</th>
              <th scope="col" className="num">
                Served
              </th>
              <th scope="col" className="num">
                Settled
              </th>
            </tr>
          </thead>
          <tbody>
            {data.miners.map((m) => (
              <tr key={m.miner}>
                <td>
                  {m.uid !== null && <a href={`#/neurons/${m.uid}`}>UID {m.uid}</a>}{' '}
                  <code title={m.miner}>{shortKey(m.miner)}</code>
                </td>
                <td className="num">{amount(m.served)}</td>
                <td className="num">{amount(m.settled)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table data-testid="payments-settlements">
          <caption>Settlements (newest first)</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                ID
              </th>
              <th scope="col">Time</th>
              <th scope="col">Transaction</th>
              <th scope="col" className="num">
                Total
              </th>
              <th scope="col" className="num">
                Validator
              </th>
              <th scope="col" className="num">
                Owner
              </th>
              <th scope="col" className="num">
                Burned
              </th>
              <th scope="col" className="num">
                Miners
              </th>
            </tr>
          </thead>
          <tbody>
            {data.settlements.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  Nothing settled yet.
                </td>
              </tr>
            )}
            {data.settlements.map((s) => (
              <tr key={`${s.settlementId}-${s.txHash}`} data-testid="payments-settlement-row">
                <td className="num">{s.settlementId}</td>
                <td>{formatTime(s.at)}</td>
                <td>
                  <code title={s.txHash}>{shortKey(s.txHash)}</code>
                </td>
                <td className="num">{amount(s.total)}</td>
                <td className="num">{amount(s.validatorFee)}</td>
                <td className="num">{amount(s.ownerFee)}</td>
                <td className="num">{amount(s.burned)}</td>
                <td className="num">{amount(s.minerTotal)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function PaymentsPage() {
  const { token } = useAuth();
  const { snapshot } = useLive();
  const { data, error } = useApi<Payments>('/api/payments', snapshot?.block?.number ?? null);
  return (
    <section data-testid="page-payments">
      <PageTitle title="Payments">Payments</PageTitle>
      <p className="lede">
        What clients pay for inference (prices per model in the payment token), how revenue is split, what
        each miner earned, and a client's prepaid balance with this gateway.
      </p>
      {error && <ErrorMessage>{error}</ErrorMessage>}
      {!data ? (
        !error && <Loading what="payments" />
      ) : !data.enabled ? (
        <p className="notice" data-testid="payments-disabled">
          This chain takes no payments (no payment contracts are deployed): requests are served with free API
          keys.
        </p>
      ) : (
        <>
          <Terms data={data} />
          <BalanceLookup token={data.token} />
          {token ? (
            <AdminPayments token={token} />
          ) : (
            <p className="notice">
              Spend per key and the settlements need the admin token: enter it in the header.
            </p>
          )}
        </>
      )}
    </section>
  );
}
