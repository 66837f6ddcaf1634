// The price chart: mark, index and last trade price (lightweight-charts). History comes from
// the engine's minute candles (mark and index at each close, last trade price), then mark and
// index are sampled from GET /v1/markets and last prices come from the trade stream.

import { ColorType, LineSeries, type IChartApi, type ISeriesApi, type UTCTimestamp, createChart } from 'lightweight-charts';

export type Line = 'mark' | 'index' | 'last';

export class PriceChart {
  private chart: IChartApi;
  private series: Record<Line, ISeriesApi<'Line'>>;
  private lastTime: Record<Line, number> = { mark: 0, index: 0, last: 0 };

  constructor(element: HTMLElement, private scale: number) {
    this.chart = createChart(element, { autoSize: true });
    this.series = {
      mark: this.chart.addSeries(LineSeries, { lineWidth: 2, title: 'Mark', priceLineVisible: true }),
      index: this.chart.addSeries(LineSeries, { lineWidth: 1, lineStyle: 2, title: 'Index', priceLineVisible: false }),
      last: this.chart.addSeries(LineSeries, { lineWidth: 1, title: 'Last', priceLineVisible: false, lineType: 1 }),
    };
    this.theme();
  }

  theme(): void {
    const css = getComputedStyle(document.documentElement);
    const v = (name: string) => css.getPropertyValue(name).trim();
    this.chart.applyOptions({
      layout: { background: { type: ColorType.Solid, color: v('--panel') }, textColor: v('--muted'), fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: v('--line') }, horzLines: { color: v('--line') } },
      rightPriceScale: { borderColor: v('--line') },
      timeScale: { borderColor: v('--line'), timeVisible: true, secondsVisible: true },
      crosshair: { mode: 0 },
    });
    this.series.mark.applyOptions({ color: v('--accent') });
    this.series.index.applyOptions({ color: v('--muted') });
    this.series.last.applyOptions({ color: v('--warn') });
  }

  /** `atoms` in quote atoms per lot, at `ms`. */
  add(line: Line, ms: number, atoms: bigint): void {
    const time = Math.floor(ms / 1000);
    if (time < this.lastTime[line] || atoms <= 0n) return;
    this.lastTime[line] = time;
    this.series[line].update({ time: time as UTCTimestamp, value: Number(atoms) / this.scale });
  }

  seed(line: Line, points: [number, bigint][]): void {
    const byTime = new Map<number, number>();
    for (const [ms, atoms] of points) byTime.set(Math.floor(ms / 1000), Number(atoms) / this.scale);
    const data = [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
    this.series[line].setData(data);
    this.lastTime[line] = data.at(-1)?.time ?? 0;
  }

  dispose(): void {
    this.chart.remove();
  }
}
