/** Overview: the subnet's name and parameters, block, epoch with a countdown, counts, requests/s. */
import { useEffect, useState } from 'react';
import { ErrorMessage, Loading, PageTitle, Stat } from '../components/common';
import { formatAmount, formatDuration, formatTime } from '../format';
import { useLive } from '../live';

/** The current time, re-rendering every second. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

function formatParam(value: number | string | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return value.toLocaleString('en-US');
  // Amounts are strings of the smallest unit (api.ts): show them in SUB.
  if (/^[0-9]+$/.test(value)) return `${formatAmount(value)} SUB`;
  return value;
}

/** `camelCase` parameter names as words. */
function paramLabel(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase();
}

export function OverviewPage() {
  const { snapshot, receivedAt, error } = useLive();
  const now = useNow();

  if (!snapshot) {
    return (
      <section data-testid="page-overview">
        <PageTitle title="Overview">Overview</PageTitle>
        {error ? <ErrorMessage>{error}</ErrorMessage> : <Loading what="the subnet" />}
      </section>
    );
  }

  const { subnet, block, epoch, counts } = snapshot;
  const secondsLeft = epoch ? Math.max(0, epoch.secondsLeft - (now - receivedAt) / 1000) : null;
  const params = Object.entries(subnet?.params ?? {});

  return (
    <section data-testid="page-overview">
      <PageTitle title="Overview">{subnet ? subnet.name : 'Subnet'}</PageTitle>
      {subnet ? (
        <p className="lede">
          {subnet.description || 'No description.'}{' '}
          <span className="muted">
            netuid {subnet.netuid} · owner <code className="wrap">{subnet.owner}</code>
          </span>
        </p>
      ) : (
        <p className="muted">The subnet is not registered on the chain yet.</p>
      )}

      <dl className="stats">
        <Stat
          label="Block"
          value={
            <span data-testid="overview-block">{block ? block.number.toLocaleString('en-US') : '—'}</span>
          }
          hint={block ? formatTime(block.timestamp) : undefined}
        />
        <Stat
          label="Epoch"
          value={<span data-testid="overview-epoch">{epoch ? epoch.current : '—'}</span>}
          hint={epoch ? `next at block ${epoch.nextStartBlock} (${epoch.blocksLeft} blocks)` : undefined}
        />
        <Stat
          label="Next epoch in"
          value={
            <span data-testid="overview-countdown" aria-live="off">
              {secondsLeft === null ? '—' : formatDuration(secondsLeft)}
            </span>
          }
          hint={
            epoch?.latestEnded ? `epoch ${epoch.latestEnded.epoch}: ${epoch.latestEnded.status}` : undefined
          }
        />
        <Stat label="Miners" value={<span data-testid="overview-miners">{counts.miners}</span>} />
        <Stat label="Validators" value={<span data-testid="overview-validators">{counts.validators}</span>} />
        <Stat
          label="Requests/s"
          value={<span data-testid="overview-rps">{snapshot.requestsPerSecond.toFixed(2)}</span>}
          hint="organic, last 10 s"
        />
        <Stat
          label="Last finalised epoch"
          value={<span data-testid="overview-finalised">{epoch?.lastFinalised ?? '—'}</span>}
        />
      </dl>

      <h2>Parameters</h2>
      {params.length === 0 ? (
        <p className="muted">No parameters yet.</p>
      ) : (
        <dl className="params">
          {params.map(([name, value]) => (
            <div key={name}>
              <dt title={name}>{paramLabel(name)}</dt>
              <dd>{formatParam(value)}</dd>
            </div>
          ))}
        </dl>
      )}
      <p>
        <a href="#/leaderboard">See all {snapshot.neurons.length} neurons on the leaderboard →</a>
      </p>
    </section>
  );
}
