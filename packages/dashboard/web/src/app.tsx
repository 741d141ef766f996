/** The app shell: providers, skip link, header, and the page for the current hash route. */
import { AuthProvider } from './auth';
import { PageTitle } from './components/common';
import { Header } from './components/header';
import { LiveProvider } from './live';
import { EmissionsPage } from './pages/emissions';
import { KeysPage } from './pages/keys';
import { LeaderboardPage } from './pages/leaderboard';
import { ModelsPage } from './pages/models';
import { NeuronPage } from './pages/neuron';
import { OverviewPage } from './pages/overview';
import { PaymentsPage } from './pages/payments';
import { type Route, useRoute } from './router';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'leaderboard':
      return <LeaderboardPage />;
    case 'neuron':
      return <NeuronPage uid={route.uid} />;
    case 'emissions':
      return <EmissionsPage />;
    case 'models':
      return <ModelsPage />;
    case 'payments':
      return <PaymentsPage />;
    case 'keys':
      return <KeysPage />;
    case 'not-found':
      return (
        <section data-testid="page-not-found">
          <PageTitle title="Not found">Not found</PageTitle>
          <p>
            There is no page at <code>{route.path}</code>. Go to the <a href="#/">overview</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  return (
    <AuthProvider>
      <LiveProvider>
        {/* `#main` is not a route (routes start with `#/`): the router keeps the page, the browser moves focus. */}
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Header route={route} />
        <main id="main" tabIndex={-1}>
          <Page route={route} />
        </main>
        <footer className="site-footer">
          <p>
            Read-only views are public; changes need the admin token (<code>subnet gateway admin-token</code>
            ). The JSON behind every page is under <a href="/api/snapshot">/api/</a>.
          </p>
        </footer>
      </LiveProvider>
    </AuthProvider>
  );
}
