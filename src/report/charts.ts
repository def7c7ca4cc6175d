/**
 * Charts rendered with chart.js into PNG in Node (@napi-rs/canvas supplies the canvas). The same chart configs are
 * used by the HTML report, where the browser's chart.js draws them (see `chartConfigs` in html.ts).
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';

Chart.register(...registerables);

export interface BarSeries {
  label: string;
  values: (number | null)[];
  /** Optional 95% interval per bar, drawn as whiskers. */
  ci?: ([number, number] | null)[];
  color: string;
}

export interface BarChartSpec {
  title: string;
  labels: string[];
  series: BarSeries[];
  yLabel: string;
  /** Suggested top of the value axis (100 for ×100 scores), so a near-zero run still reads as near zero. */
  yMax?: number;
  width?: number;
  height?: number;
}

export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
];

/** Draws the `ci` whiskers stored on each dataset (chart.js has no error bars of its own). */
export const whiskerPlugin: Plugin = {
  id: 'ciWhiskers',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    chart.data.datasets.forEach((ds, di) => {
      const ci = (ds as unknown as { ci?: ([number, number] | null)[] }).ci;
      const meta = chart.getDatasetMeta(di);
      if (!ci || meta.hidden) return;
      const yScale = chart.scales[(meta.yAxisID as string) ?? 'y'];
      meta.data.forEach((el, i) => {
        const iv = ci[i];
        if (!iv || !Number.isFinite(iv[0]) || !Number.isFinite(iv[1])) return;
        const x = (el as unknown as { x: number }).x;
        const lo = yScale.getPixelForValue(iv[0]);
        const hi = yScale.getPixelForValue(iv[1]);
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, lo);
        ctx.lineTo(x, hi);
        ctx.moveTo(x - 4, lo);
        ctx.lineTo(x + 4, lo);
        ctx.moveTo(x - 4, hi);
        ctx.lineTo(x + 4, hi);
        ctx.stroke();
        ctx.restore();
      });
    });
  },
};

export function barChartConfig(spec: BarChartSpec): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.values,
        backgroundColor: s.color,
        ci: s.ci,
      })) as never,
    },
    options: {
      animation: false,
      responsive: false,
      plugins: { title: { display: true, text: spec.title }, legend: { position: 'top' } },
      scales: { y: { suggestedMax: spec.yMax, title: { display: true, text: spec.yLabel } } },
    },
  };
}

/** Render a chart.js configuration to a PNG buffer of the given size. */
export function renderPng(config: ChartConfiguration, width = 900, height = 450): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  // White background: PNGs are viewed outside the page too.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const chart = new Chart(ctx as never, {
    ...config,
    plugins: [...(config.plugins ?? []), whiskerPlugin],
  });
  const png = canvas.toBuffer('image/png');
  chart.destroy();
  return png;
}
