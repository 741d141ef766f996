/** Leaderboard: every uid from the live snapshot, sortable by every column and searchable. */
import { useId, useMemo, useState } from 'react';
import type { NeuronRow } from '../../../src/api';
import { ErrorMessage, Loading, PageTitle } from '../components/common';
import { compareAmounts, formatAmount, formatFraction, formatMs, formatPercent, shortKey } from '../format';
import { useLive } from '../live';

type Direction = 'ascending' | 'descending';

interface Column {
  key: string;
  label: string;
  /** Ascending comparison; nulls are handled apart (always last). */
  compare: (a: NeuronRow, b: NeuronRow) => number;
  value?: (row: NeuronRow) => number | null;
  /** The first click sorts this way. */
  first: Direction;
  numeric: boolean;
}

const num = (get: (row: NeuronRow) => number | null) => ({
  value: get,
  compare: (a: NeuronRow, b: NeuronRow) => (get(a) ?? 0) - (get(b) ?? 0),
  first: 'descending' as const,
  numeric: true,
});

export const COLUMNS: Column[] = [
  { key: 'uid', label: 'UID', first: 'ascending', numeric: true, compare: (a, b) => a.uid - b.uid },
  {
    key: 'hotkey',
    label: 'Hotkey',
    first: 'ascending',
    numeric: false,
    compare: (a, b) => a.hotkey.localeCompare(b.hotkey),
  },
  {
    key: 'role',
    label: 'Role',
    first: 'ascending',
    numeric: false,
    compare: (a, b) => a.role.localeCompare(b.role),
  },
  {
    key: 'stake',
    label: 'Stake (SUB)',
    first: 'descending',
    numeric: true,
    compare: (a, b) => compareAmounts(a.stake, b.stake),
  },
  { key: 'score', label: 'Score', ...num((r) => r.score) },
  { key: 'incentive', label: 'Incentive', ...num((r) => r.incentive) },
  { key: 'dividends', label: 'Dividends', ...num((r) => r.dividends) },
  {
    key: 'emission',
    label: 'Emission (SUB)',
    first: 'descending',
    numeric: true,
    compare: (a, b) => compareAmounts(a.emission, b.emission),
  },
  { key: 'latency', label: 'Latency p50', ...num((r) => r.latencyP50Ms), first: 'ascending' },
  { key: 'success', label: 'Success', ...num((r) => r.successRate) },
];

/** Sorts `rows` by `column`; rows without a value (null) go last either way, ties fall back to uid. */
export function sortRows(rows: NeuronRow[], column: Column, direction: Direction): NeuronRow[] {
  const sign = direction === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    if (column.value) {
      const va = column.value(a);
      const vb = column.value(b);
      if (va === null && vb !== null) return 1;
      if (vb === null && va !== null) return -1;
    }
    return sign * column.compare(a, b) || a.uid - b.uid;
  });
}

/** Whether `row` matches the search `query` (uid, hotkey, role or a served model). */
export function matches(row: NeuronRow, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return (
    String(row.uid) === q ||
    row.hotkey.toLowerCase().includes(q) ||
    row.coldkey.toLowerCase().includes(q) ||
    row.role.includes(q) ||
    row.models.some((m) => m.toLowerCase().includes(q))
  );
}

export function LeaderboardPage() {
  const { snapshot, error } = useLive();
  // No sort at first (uid order, every header `aria-sort="none"`); the first click on a header sorts by it.
  const [sortKey, setSortKey] = useState<string | null>(null);
  const [direction, setDirection] = useState<Direction>('ascending');
  const [query, setQuery] = useState('');
  const searchId = useId();

  const column = COLUMNS.find((c) => c.key === sortKey) ?? (COLUMNS[0] as Column);
  const rows = useMemo(
    () =>
      sortRows(
        (snapshot?.neurons ?? []).filter((r) => matches(r, query)),
        column,
        sortKey === null ? 'ascending' : direction,
      ),
    [snapshot, query, column, sortKey, direction],
  );

  const sortBy = (next: Column) => {
    if (next.key === sortKey) setDirection((d) => (d === 'ascending' ? 'descending' : 'ascending'));
    else {
      setSortKey(next.key);
      setDirection(next.first);
    }
  };

  return (
    <section data-testid="page-leaderboard">
      <PageTitle title="Leaderboard">Leaderboard</PageTitle>
      <div className="toolbar">
        <label htmlFor={searchId}>Search</label>
        <input
          id={searchId}
          type="search"
          placeholder="uid, hotkey, role or model"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="leaderboard-search"
        />
        <span className="muted" data-testid="leaderboard-count" aria-live="polite">
          {snapshot ? `${rows.length} of ${snapshot.neurons.length} neurons` : ''}
        </span>
      </div>
      {!snapshot ? (
        error ? (
          <ErrorMessage>{error}</ErrorMessage>
        ) : (
          <Loading what="the leaderboard" />
        )
      ) : (
        <div className="table-scroll leaderboard">
          <table>
            <caption className="visually-hidden">
              {sortKey === null ? 'Neurons by uid' : `Neurons sorted by ${column.label}, ${direction}`}
            </caption>
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    aria-sort={c.key === sortKey ? direction : 'none'}
                    className={c.numeric ? 'num' : undefined}
                  >
                    <button
                      type="button"
                      className="sort"
                      onClick={() => sortBy(c)}
                      data-testid={`sort-${c.key}`}
                    >
                      {c.label}
                      <span className="sort-mark" aria-hidden="true">
                        {c.key === sortKey ? (direction === 'ascending' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 && (
                <tr>
                  <td colSpan={COLUMNS.length} className="muted">
                    {query ? 'No neuron matches the search.' : 'No neurons registered yet.'}
                  </td>
                </tr>
              )}
              {rows.map((row) => (
                <tr key={row.uid} data-testid="leaderboard-row" data-uid={row.uid} data-role={row.role}>
                  <td className="num" data-label="UID">
                    <a href={`#/neurons/${row.uid}`} aria-label={`Neuron ${row.uid} details`}>
                      {row.uid}
                    </a>
                  </td>
                  <td data-label="Hotkey">
                    <code title={row.hotkey}>{shortKey(row.hotkey)}</code>
                    {!row.connected && row.role === 'miner' && (
                      <span
                        className="tag"
                        title="This node's network stack holds no connection to this miner"
                      >
                        not connected
                      </span>
                    )}
                  </td>
                  <td data-label="Role">
                    <span className={`role role-${row.role}`}>{row.role}</span>
                  </td>
                  <td className="num" data-label="Stake">
                    {formatAmount(row.stake)}
                  </td>
                  <td className="num" data-label="Score">
                    {formatFraction(row.score)}
                  </td>
                  <td className="num" data-label="Incentive">
                    {formatPercent(row.incentive)}
                  </td>
                  <td className="num" data-label="Dividends">
                    {formatPercent(row.dividends)}
                  </td>
                  <td className="num" data-label="Emission">
                    {formatAmount(row.emission)}
                  </td>
                  <td className="num" data-label="Latency p50">
                    {formatMs(row.latencyP50Ms)}
                  </td>
                  <td className="num" data-label="Success">
                    {formatPercent(row.successRate, 1)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
