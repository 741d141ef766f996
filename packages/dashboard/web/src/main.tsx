/**
 * The subnet dashboard's web app: React, hash-routed, fed by the dashboard API under `/api/` (types from
 * `../../src/api.ts`, imported as types only) and one server-sent event stream (`/api/events`). Built by Vite
 * into `packages/dashboard/dist/web`, served at `/` on the gateway's port. It must never be the one that
 * enforces access: the server refuses state changes without the admin token.
 *
 * Routes: `#/` overview, `#/leaderboard`, `#/neurons/<uid>`, `#/emissions`, `#/models`, `#/keys`.
 * The admin token is kept in `sessionStorage['subnet.adminToken']` after `GET /api/admin` accepts it.
 *
 * data-testid attributes (stable, for the browser tests):
 * - page roots: `page-overview`, `page-leaderboard`, `page-neuron` (with `data-uid`), `page-emissions`,
 *   `page-models`, `page-keys`, `page-not-found`
 * - header: `connection` (with `data-state` = connecting | live | reconnecting), `login-token`,
 *   `login-submit`, `logout`
 * - overview: `overview-block`, `overview-epoch`, `overview-countdown`, `overview-miners`,
 *   `overview-validators`, `overview-rps`, `overview-finalised`
 * - leaderboard: `leaderboard-search`, `leaderboard-row` (with `data-uid`, `data-role`), `leaderboard-count`,
 *   sort buttons `sort-uid`, `sort-hotkey`, `sort-role`, `sort-stake`, `sort-score`, `sort-incentive`,
 *   `sort-dividends`, `sort-emission`, `sort-latency`, `sort-success` (their `<th>` carries `aria-sort`)
 * - neuron: `chart-score`, `chart-latency`, `chart-emission`, `neuron-models`, `verification-row`
 * - emissions: `chart-emissions`, `emissions-row` (with `data-epoch`)
 * - models: `model-row` (with `data-model`), `node-card` (with `data-node`), `model-load-id`,
 *   `model-load-backend`, `model-load-submit`, `model-unload`, `model-unload-confirm`
 * - keys: `key-name`, `key-rpm`, `key-tpm`, `key-create`, `key-secret`, `key-copy`, `key-row` (with
 *   `data-key-id`), `key-revoke`, `key-revoke-confirm`
 * - any error message: `error` (role="alert")
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
