/**
 * Neuron detail: score and latency over time, emission per epoch, served models and the recent
 * verification results (redundancy majority and logprob audits). Refetches on every new block.
 */
import type { NeuronDetail, Verification } from '../../../src/api';
import { useAuth } from '../auth';
import { BarChart, LineChart } from '../components/charts';
import { DataDetails, ErrorMessage, Loading, PageTitle } from '../components/common';
import {
  amountToNumber,
  formatAmount,
  formatClock,
  formatFraction,
  formatMs,
  formatPercent,
  formatTime,
} from '../format';
import { useLive } from '../live';
import { useApi } from '../useApi';

function yesNo(value: boolean | null): string {
  return value === null ? '—' : value ? 'yes' : 'no';
}

function VerificationRow({ v }: { v: Verification }) {
  const audit = v.audit;
  return (
    <tr data-testid="verification-row">
      <td>{formatTime(v.at)}</td>
      <td>
        <code>{v.model}</code>
      </td>
      <td>
        <span className={`verdict verdict-${v.verdict}`} title={v.reason}>
          {v.verdict}
        </span>
        {v.reason && <span className="visually-hidden"> ({v.reason})</span>}
      </td>
      <td>{yesNo(v.majority)}</td>
      <td className="num">{audit ? `${audit.argmaxMatched}/${audit.tokens}` : '—'}</td>
      <td className="num">{audit ? `${audit.logprobsMatched}/${audit.logprobsCompared}` : '—'}</td>
      <td className="num">{audit?.maxLogprobDiff != null ? audit.maxLogprobDiff.toFixed(4) : '—'}</td>
      <td className="num">{formatMs(v.latencyMs)}</td>
      <td>{yesNo(v.receipt)}</td>
    </tr>
  );
}

export function NeuronPage({ uid }: { uid: number }) {
  const { snapshot } = useLive();
  const { token } = useAuth();
  // With the admin token the operator also sees the score history and verdicts.
  const { data, error } = useApi<NeuronDetail>(`/api/neurons/${uid}`, snapshot?.block?.number ?? null, token);

  const title = `Neuron ${uid}`;
  if (!data) {
    return (
      <section data-testid="page-neuron" data-uid={uid}>
        <PageTitle title={title}>{title}</PageTitle>
        <p>
          <a href="#/leaderboard">← Leaderboard</a>
        </p>
        {error ? <ErrorMessage>{error}</ErrorMessage> : <Loading what={`neuron ${uid}`} />}
      </section>
    );
  }

  const { neuron, history, emissions, verifications } = data;
  const blockLabel = (block: number) => `#${block}`;
  return (
    <section data-testid="page-neuron" data-uid={uid}>
      <PageTitle title={title}>
        {title} <span className={`role role-${neuron.role}`}>{neuron.role}</span>
      </PageTitle>
      <p>
        <a href="#/leaderboard">← Leaderboard</a>
      </p>
      {error && <ErrorMessage>{error}</ErrorMessage>}
      <dl className="kv">
        <div>
          <dt>Hotkey</dt>
          <dd>
            <code className="wrap">{neuron.hotkey}</code>
          </dd>
        </div>
        <div>
          <dt>Coldkey</dt>
          <dd>
            <code className="wrap">{neuron.coldkey}</code>
          </dd>
        </div>
        <div>
          <dt>Stake</dt>
          <dd>{formatAmount(neuron.stake)} SUB</dd>
        </div>
        <div>
          <dt>Score</dt>
          <dd>{formatFraction(neuron.score)}</dd>
        </div>
        <div>
          <dt>Incentive / dividends</dt>
          <dd>
            {formatPercent(neuron.incentive)} / {formatPercent(neuron.dividends)}
          </dd>
        </div>
        <div>
          <dt>Trust / consensus</dt>
          <dd>
            {formatFraction(neuron.trust)} / {formatFraction(neuron.consensus)}
          </dd>
        </div>
        <div>
          <dt>Emission (last finalised epoch)</dt>
          <dd>{formatAmount(neuron.emission)} SUB</dd>
        </div>
        <div>
          <dt>Latency p50 / success</dt>
          <dd>
            {formatMs(neuron.latencyP50Ms)} / {formatPercent(neuron.successRate, 1)}
          </dd>
        </div>
        <div>
          <dt>Validator permit / connected</dt>
          <dd>
            {yesNo(neuron.validatorPermit)} / {yesNo(neuron.connected)}
          </dd>
        </div>
      </dl>

      <h2>Served models</h2>
      {neuron.models.length === 0 ? (
        <p className="muted" data-testid="neuron-models">
          None announced.
        </p>
      ) : (
        <ul className="chips" data-testid="neuron-models">
          {neuron.models.map((m) => (
            <li key={m}>
              <code>{m}</code>
            </li>
          ))}
        </ul>
      )}

      <div className="chart-grid-2">
        <figure>
          <figcaption>Score over time</figcaption>
          <LineChart
            testid="chart-score"
            title={`Score of neuron ${uid} by block`}
            points={history.map((h) => ({ x: h.block, y: h.score }))}
            xFormat={blockLabel}
            yFormat={(v) => v.toFixed(2)}
            yRange={[0, 1]}
          />
        </figure>
        <figure>
          <figcaption>Latency over time</figcaption>
          <LineChart
            testid="chart-latency"
            title={`Latency of neuron ${uid} by block, in milliseconds`}
            points={history.map((h) => ({ x: h.block, y: h.latencyMs }))}
            xFormat={blockLabel}
            yFormat={(v) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`}
          />
        </figure>
      </div>
      <DataDetails summary={`Score and latency samples (${history.length})`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Block</th>
              <th scope="col">Time</th>
              <th scope="col">Score</th>
              <th scope="col">Latency</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h) => (
              <tr key={`${h.block}-${h.at}`}>
                <td className="num">{h.block}</td>
                <td>{formatClock(h.at)}</td>
                <td className="num">{formatFraction(h.score)}</td>
                <td className="num">{formatMs(h.latencyMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </DataDetails>

      <figure>
        <figcaption>Emission per epoch (SUB)</figcaption>
        <BarChart
          testid="chart-emission"
          title={`Emission of neuron ${uid} per finalised epoch, in SUB`}
          series={[{ key: 'emission', label: 'Emission' }]}
          bars={emissions.map((e) => ({ label: `E${e.epoch}`, values: [amountToNumber(e.amount)] }))}
          yFormat={(v) => v.toLocaleString('en-US', { maximumFractionDigits: 2 })}
        />
      </figure>
      <DataDetails summary={`Emission per epoch (${emissions.length})`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Epoch</th>
              <th scope="col">Emission (SUB)</th>
            </tr>
          </thead>
          <tbody>
            {emissions.map((e) => (
              <tr key={e.epoch}>
                <td className="num">{e.epoch}</td>
                <td className="num">{formatAmount(e.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </DataDetails>

      <h2>Recent verification results</h2>
      {verifications.length === 0 ? (
        <p className="muted">No verification results yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Model</th>
                <th scope="col">Verdict</th>
                <th scope="col">Majority</th>
                <th scope="col" className="num">
                  Tokens matched
                </th>
                <th scope="col" className="num">
                  Logprobs matched
                </th>
                <th scope="col" className="num">
                  Max logprob diff
                </th>
                <th scope="col" className="num">
                  Latency
                </th>
                <th scope="col">Receipt</th>
              </tr>
            </thead>
            <tbody>
              {verifications.map((v, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: results have no id; two can share a time
                <VerificationRow key={`${v.at}-${i}`} v={v} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
