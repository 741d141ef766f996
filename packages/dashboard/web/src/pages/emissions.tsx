/** Emissions: per finalised epoch, the split between the subnet owner, miners and validators. */
import type { Emissions } from '../../../src/api';
import { BarChart, Legend, type StackSeries } from '../components/charts';
import { ErrorMessage, Loading, PageTitle } from '../components/common';
import { amountToNumber, formatAmount } from '../format';
import { useLive } from '../live';
import { useApi } from '../useApi';

const SERIES: StackSeries[] = [
  { key: 'owner', label: 'Owner' },
  { key: 'miners', label: 'Miners' },
  { key: 'validators', label: 'Validators' },
];

export function EmissionsPage() {
  const { snapshot } = useLive();
  const epoch = snapshot?.epoch;
  const { data, error } = useApi<Emissions>(
    '/api/emissions',
    `${epoch?.lastFinalised ?? ''}/${epoch?.latestEnded?.epoch ?? ''}/${epoch?.latestEnded?.status ?? ''}`,
  );

  return (
    <section data-testid="page-emissions">
      <PageTitle title="Emissions">Emissions</PageTitle>
      <p className="lede">
        Emission per finalised epoch, split between the subnet owner, miners and validators.
      </p>
      {error && <ErrorMessage>{error}</ErrorMessage>}
      {!data ? (
        !error && <Loading what="emissions" />
      ) : (
        <>
          <figure>
            <figcaption>Emission per epoch (SUB)</figcaption>
            <BarChart
              testid="chart-emissions"
              title="Emission per epoch in SUB, stacked: owner, miners, validators"
              series={SERIES}
              bars={data.epochs.map((e) => ({
                label: `E${e.epoch}`,
                values: [amountToNumber(e.owner), amountToNumber(e.miners), amountToNumber(e.validators)],
              }))}
              yFormat={(v) => v.toLocaleString('en-US', { maximumFractionDigits: 2 })}
            />
            <Legend series={SERIES} />
          </figure>
          <div className="table-scroll">
            <table>
              <caption>Emission per epoch (SUB)</caption>
              <thead>
                <tr>
                  <th scope="col">Epoch</th>
                  <th scope="col" className="num">
                    Owner
                  </th>
                  <th scope="col" className="num">
                    Miners
                  </th>
                  <th scope="col" className="num">
                    Validators
                  </th>
                  <th scope="col" className="num">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.epochs.length === 0 && (
                  <tr>
                    <td colSpan={5} className="muted">
                      No epoch has been finalised yet.
                    </td>
                  </tr>
                )}
                {[...data.epochs].reverse().map((e) => (
                  <tr key={e.epoch} data-testid="emissions-row" data-epoch={e.epoch}>
                    <td className="num">{e.epoch}</td>
                    <td className="num">{formatAmount(e.owner)}</td>
                    <td className="num">{formatAmount(e.miners)}</td>
                    <td className="num">{formatAmount(e.validators)}</td>
                    <td className="num">{formatAmount(e.total)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
