/**
 * Hash routing (`#/`, `#/leaderboard`, `#/neurons/3`, ...), so the server serves one `index.html` and needs
 * no fallback route. `useRoute` re-renders on `hashchange`; a hash that is not a route (`#main`, the skip link's
 * target) leaves the page as it is.
 */
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'overview' }
  | { page: 'leaderboard' }
  | { page: 'neuron'; uid: number }
  | { page: 'emissions' }
  | { page: 'models' }
  | { page: 'payments' }
  | { page: 'keys' }
  | { page: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  if (hash !== '' && !hash.startsWith('#/')) return { page: 'overview' };
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/';
  if (path === '/') return { page: 'overview' };
  if (path === '/leaderboard') return { page: 'leaderboard' };
  if (path === '/emissions') return { page: 'emissions' };
  if (path === '/models') return { page: 'models' };
  if (path === '/payments') return { page: 'payments' };
  if (path === '/keys') return { page: 'keys' };
  const neuron = /^\/neurons\/(\d{1,5})$/.exec(path);
  if (neuron?.[1] !== undefined) return { page: 'neuron', uid: Number(neuron[1]) };
  return { page: 'not-found', path };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      const hash = window.location.hash;
      if (hash === '' || hash.startsWith('#/')) setRoute(parseHash(hash));
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
