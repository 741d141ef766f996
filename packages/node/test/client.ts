/** Test helper: an Engine API client of a running node, over HTTP with a JWT from the node's own secret. */
import type { Config } from '@subnet/config';
import {
  type Api,
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineClient,
  loadOrCreateJwtSecret,
} from '@subnet/engine-api';
import type { SubnetNode } from '../src/index.js';

export async function clientOf<A extends Api>(
  node: SubnetNode,
  config: Config,
  api: A,
): Promise<EngineClient<A>> {
  const secret = await loadOrCreateJwtSecret(config.engine.jwtSecretFile);
  return createEngineClient(
    api,
    createHttpTransport({
      url: node.url,
      token: createTokenSigner(secret, { subject: 'test', lifetimeS: 60 }),
    }),
  );
}
