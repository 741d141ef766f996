/**
 * Models: which miners serve each model (public), and for admins the managed nodes with their loaded models,
 * a form to load one and a confirmed unload. The server checks the admin token on every change.
 */
import { type FormEvent, useId, useState } from 'react';
import type { LoadedModel, LoadModelBody, Models, Nodes, UnloadedModel } from '../../../src/api';
import { useAuth } from '../auth';
import { request } from '../client';
import { ErrorMessage, Loading, PageTitle } from '../components/common';
import { ConfirmAction } from '../components/confirmAction';
import { useLive } from '../live';
import { useAction } from '../useAction';
import { useApi } from '../useApi';

type Node = Nodes['nodes'][number];
const BACKENDS: LoadModelBody['backend'][] = ['llama.cpp', 'ollama', 'openai', 'use'];

function LoadForm({ node, token, onDone }: { node: Node; token: string; onDone: () => void }) {
  const [id, setId] = useState('');
  const [backend, setBackend] = useState<LoadModelBody['backend']>('llama.cpp');
  const [path, setPath] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [model, setModel] = useState('');
  const { busy, error, run } = useAction();
  const uid = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: LoadModelBody = { id: id.trim(), backend };
    if (path.trim()) body.path = path.trim();
    if (baseUrl.trim()) body.baseUrl = baseUrl.trim();
    if (model.trim()) body.model = model.trim();
    await run(async () => {
      await request<LoadedModel>(`/api/nodes/${encodeURIComponent(node.name)}/models`, {
        method: 'POST',
        body,
        token,
      });
      setId('');
      setPath('');
      setBaseUrl('');
      setModel('');
      onDone();
    });
  };

  return (
    <form className="form-grid" onSubmit={submit} aria-label={`Load a model on ${node.name}`}>
      <div className="field">
        <label htmlFor={`${uid}-id`}>Model id</label>
        <input
          id={`${uid}-id`}
          required
          maxLength={256}
          value={id}
          onChange={(e) => setId(e.target.value)}
          data-testid="model-load-id"
        />
      </div>
      <div className="field">
        <label htmlFor={`${uid}-backend`}>Backend</label>
        <select
          id={`${uid}-backend`}
          value={backend}
          onChange={(e) => setBackend(e.target.value as LoadModelBody['backend'])}
          data-testid="model-load-backend"
        >
          {BACKENDS.map((b) => (
            <option key={b} value={b}>
              {b}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${uid}-path`}>Path (optional)</label>
        <input
          id={`${uid}-path`}
          value={path}
          placeholder="GGUF file, for llama.cpp"
          onChange={(e) => setPath(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${uid}-url`}>Base URL (optional)</label>
        <input
          id={`${uid}-url`}
          type="url"
          value={baseUrl}
          placeholder="for ollama or openai"
          onChange={(e) => setBaseUrl(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${uid}-model`}>Upstream model (optional)</label>
        <input id={`${uid}-model`} value={model} onChange={(e) => setModel(e.target.value)} />
      </div>
      <div className="field field-submit">
        <button type="submit" disabled={busy} data-testid="model-load-submit">
          {busy ? 'Loading…' : 'Load model'}
        </button>
      </div>
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </form>
  );
}

function ManagedNodes({ token }: { token: string }) {
  const nodes = useApi<Nodes>('/api/nodes', null, token);
  if (nodes.error) return <ErrorMessage>{nodes.error}</ErrorMessage>;
  if (!nodes.data) return <Loading what="managed nodes" />;
  if (nodes.data.nodes.length === 0)
    return <p className="muted">No managed nodes: this node has no miner Engine API configured.</p>;
  return (
    <div className="cards">
      {nodes.data.nodes.map((node) => (
        <article key={node.name} className="card" data-testid="node-card" data-node={node.name}>
          <h3>
            {node.name}{' '}
            <span className="muted">
              {node.uid === null ? 'not registered' : <a href={`#/neurons/${node.uid}`}>uid {node.uid}</a>}
            </span>{' '}
            {!node.reachable && <span className="tag">unreachable</span>}
          </h3>
          {node.models.length === 0 ? (
            <p className="muted">No models loaded.</p>
          ) : (
            <ul className="model-list">
              {node.models.map((m) => (
                <li key={m.id}>
                  <code>{m.id}</code> <span className="muted">({m.backend})</span>
                  <ConfirmAction
                    label="Unload"
                    ariaLabel={`Unload ${m.id} from ${node.name}`}
                    testid="model-unload"
                    question={<>Unload {m.id}?</>}
                    confirmLabel="Yes, unload"
                    confirmTestid="model-unload-confirm"
                    action={() =>
                      request<UnloadedModel>(
                        `/api/nodes/${encodeURIComponent(node.name)}/models/${encodeURIComponent(m.id)}`,
                        { method: 'DELETE', token },
                      )
                    }
                    onDone={nodes.reload}
                  />
                </li>
              ))}
            </ul>
          )}
          <details>
            <summary>Load a model</summary>
            <LoadForm node={node} token={token} onDone={nodes.reload} />
          </details>
        </article>
      ))}
    </div>
  );
}

export function ModelsPage() {
  const { snapshot } = useLive();
  const { token } = useAuth();
  const models = useApi<Models>('/api/models', snapshot?.block?.number ?? null);

  return (
    <section data-testid="page-models">
      <PageTitle title="Models">Models</PageTitle>
      <h2>Served in the subnet</h2>
      {models.error && <ErrorMessage>{models.error}</ErrorMessage>}
      {!models.data ? (
        !models.error && <Loading what="models" />
      ) : models.data.models.length === 0 ? (
        <p className="muted">No miner announces a model yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Miners (uid)</th>
              </tr>
            </thead>
            <tbody>
              {models.data.models.map((m) => (
                <tr key={m.id} data-testid="model-row" data-model={m.id}>
                  <td>
                    <code>{m.id}</code>
                  </td>
                  <td>
                    <ul className="chips">
                      {m.miners.map((uid) => (
                        <li key={uid}>
                          <a href={`#/neurons/${uid}`}>{uid}</a>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Managed nodes</h2>
      {token ? (
        <ManagedNodes token={token} />
      ) : (
        <p className="muted">Log in with the admin token to load or unload models on this node's miners.</p>
      )}
    </section>
  );
}
