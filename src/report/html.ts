/**
 * report.html: one self-contained file (chart.js inlined, thumbnails as data: URLs, no network) with the card-style
 * tables, the charts (drawn by chart.js in the browser from the same configs as the PNGs) and a sample browser.
 * Everything that comes from predictions or datasets is escaped: HTML text through `escapeHtml`, embedded JSON
 * with `<` written as \u003c, and the sample browser fills cells with textContent only.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import type { PredictionRecord } from '../runner/prediction-record.ts';
import { cardEvidenceOf, cardRuleOf, cardVerdict } from './card-check.ts';
import { GROUP_TITLES, type RunSummary, type SummaryRow } from './summary.ts';

export interface BrowserSample {
  task: string;
  id: string;
  prompt: string;
  prediction: string;
  answers: string[];
  extracted?: unknown;
  score: number | null;
  error?: string;
  tiles: number[];
  latencyMs: number;
  /** data: URL of a small JPEG thumbnail, when the run stored one. */
  thumbnail?: string;
}

export interface HtmlReportInput {
  summary: RunSummary;
  charts: { title: string; config: ChartConfiguration; width: number; height: number }[];
  samples: BrowserSample[];
  /** Total samples per task (the browser may hold only the first N). */
  sampleCounts: Record<string, number>;
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JSON safe to place inside a <script> element: no `</script>`, no `<!--`, no U+2028/9 surprises. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function toBrowserSample(r: PredictionRecord, thumbnail?: string): BrowserSample {
  return {
    task: r.task,
    id: r.id,
    prompt: r.prompt,
    prediction: r.prediction,
    answers: r.answers,
    extracted: r.extracted,
    score: r.score,
    error: r.error,
    tiles: r.tiles,
    latencyMs: r.latencyMs,
    thumbnail,
  };
}

let chartJsSource: string | undefined;
async function chartJs(): Promise<string> {
  if (chartJsSource === undefined) {
    // The UMD build is not in chart.js's `exports`; find it beside the package's main entry.
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    // A literal `</script` cannot occur in minified chart.js, but guard anyway: the page must not break.
    chartJsSource = (await readFile(file, 'utf8')).replace(/<\/script/gi, '<\\/script');
  }
  return chartJsSource;
}

function fmt(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/**
 * The reproduction check of `gate --against-card` with its default rule (card inside the 95% CI, CI half-width at
 * most 2% of the score's range, at least 30 samples); the cell's tooltip gives the reason.
 */
function cardCheckCell(r: SummaryRow): string {
  const v = cardVerdict(cardEvidenceOf(r), cardRuleOf({}, r.unit));
  const cls = { reproduced: 'pos', 'not reproduced': 'neg', inconclusive: 'unsure', 'no card value': 'note' }[
    v.verdict
  ];
  return `<td class="card-check ${cls}" data-verdict="${escapeHtml(v.verdict)}" title="${escapeHtml(v.reason)}">${escapeHtml(v.verdict)}</td>`;
}

function tableHtml(rows: SummaryRow[]): string {
  const head =
    '<tr><th>benchmark</th><th>ours</th><th>95% CI</th><th>card</th><th>Δ</th><th>card check</th><th>n</th><th>errors</th><th>tiles/sample</th><th>samples/s</th></tr>';
  const body = rows
    .map((r) => {
      const d = r.unit === '/1000' ? 0 : 1;
      // External: scored by a server or GPT judge; the runner writes the submission to submissions/TASK.json|xlsx.
      // Judged by the optional local judge: its score, labelled with the judge model, never a bare number.
      const ours = r.judge
        ? `<span class="judged" title="${escapeHtml(`Scored locally by the judge ${r.judge.model} at ${r.judge.endpoint}; not the official number (${r.external ?? 'external'})`)}">${fmt(r.score, d)} (judge: ${escapeHtml(r.judge.model)})</span>`
        : r.external
          ? `<span title="${escapeHtml(`${r.external} Submission file: submissions/${r.task}.json or .xlsx`)}">external</span>`
          : fmt(r.score, d);
      const ci = r.ci95 ? `[${fmt(r.ci95[0], d)}, ${fmt(r.ci95[1], d)}]` : '–';
      const delta = r.delta === null ? '–' : `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(d)}`;
      const cls = r.delta === null ? '' : r.delta < 0 ? ' class="neg"' : ' class="pos"';
      return `<tr><td>${escapeHtml(r.title)}</td><td>${ours}</td><td>${ci}</td><td>${fmt(r.card, d)}</td><td${cls}>${delta}</td>${cardCheckCell(r)}<td>${r.n}</td><td>${r.errors}</td><td>${fmt(r.tilesPerSample, 2)}</td><td>${fmt(r.samplesPerSec, 2)}</td></tr>`;
    })
    .join('\n');
  return `<table>${head}\n${body}</table>`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 24px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}.neg{color:#b00}.pos{color:#070}.unsure{color:#a60}
.charts canvas{border:1px solid #eee;margin:8px 0;display:block}
#samples td{vertical-align:top;text-align:left;max-width:420px;white-space:pre-wrap;word-break:break-word}
#samples img{max-width:160px;max-height:160px}.note{color:#666}
`;

/** The sample browser: built with DOM calls and textContent only, so predictions can never become markup. */
const BROWSER_SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('sample-data').textContent);
  var sel = document.getElementById('task-select');
  var filter = document.getElementById('filter');
  var tbody = document.querySelector('#samples tbody');
  var tasks = Array.from(new Set(data.map(function(s){return s.task;})));
  tasks.forEach(function(t){var o=document.createElement('option');o.value=t;o.textContent=t;sel.appendChild(o);});
  function cell(tr, text){var td=document.createElement('td');td.textContent=text;tr.appendChild(td);return td;}
  function render(){
    tbody.textContent='';
    var f = filter.value;
    data.filter(function(s){
      if (s.task !== sel.value) return false;
      if (f === 'wrong') return s.score !== null && s.score < 1;
      if (f === 'right') return s.score === 1;
      if (f === 'error') return !!s.error;
      return true;
    }).forEach(function(s){
      var tr=document.createElement('tr');
      var td=document.createElement('td');
      if (s.thumbnail && s.thumbnail.indexOf('data:image/') === 0) {var img=document.createElement('img');img.src=s.thumbnail;img.alt=s.id;td.appendChild(img);}
      tr.appendChild(td);
      cell(tr, s.id);
      cell(tr, s.prompt);
      cell(tr, s.prediction);
      cell(tr, (s.answers||[]).join(' | '));
      cell(tr, s.extracted === undefined ? '' : JSON.stringify(s.extracted));
      cell(tr, s.error ? 'error: ' + s.error : (s.score === null ? '–' : String(Math.round(s.score*1000)/1000)));
      tbody.appendChild(tr);
    });
  }
  sel.addEventListener('change', render); filter.addEventListener('change', render);
  render();
})();
`;

const CHART_SCRIPT = `
(function(){
  var specs = JSON.parse(document.getElementById('chart-data').textContent);
  var whiskers = {id:'ciWhiskers', afterDatasetsDraw:function(chart){
    var ctx=chart.ctx;
    chart.data.datasets.forEach(function(ds,di){
      var meta=chart.getDatasetMeta(di); if(!ds.ci||meta.hidden) return;
      var ys=chart.scales[meta.yAxisID||'y'];
      meta.data.forEach(function(el,i){var iv=ds.ci[i]; if(!iv||!isFinite(iv[0])||!isFinite(iv[1])) return;
        var lo=ys.getPixelForValue(iv[0]), hi=ys.getPixelForValue(iv[1]);
        ctx.save();ctx.strokeStyle='#222';ctx.lineWidth=1.5;ctx.beginPath();
        ctx.moveTo(el.x,lo);ctx.lineTo(el.x,hi);ctx.moveTo(el.x-4,lo);ctx.lineTo(el.x+4,lo);ctx.moveTo(el.x-4,hi);ctx.lineTo(el.x+4,hi);
        ctx.stroke();ctx.restore();});
    });}};
  var host=document.getElementById('charts');
  window.__chartsDrawn = 0;
  specs.forEach(function(s){
    var c=document.createElement('canvas'); c.width=s.width; c.height=s.height; host.appendChild(c);
    var cfg=s.config; cfg.plugins=[whiskers];
    new Chart(c.getContext('2d'), cfg); window.__chartsDrawn++;
  });
})();
`;

export async function renderHtml(input: HtmlReportInput): Promise<string> {
  const { summary } = input;
  const groups = (['image', 'video', 'grounding'] as const)
    .map((g) => ({ g, rows: summary.rows.filter((r) => r.group === g) }))
    .filter((x) => x.rows.length)
    .map((x) => `<h2>${escapeHtml(GROUP_TITLES[x.g])}</h2>\n${tableHtml(x.rows)}`)
    .join('\n');
  const truncated = Object.entries(input.sampleCounts)
    .map(([task, total]) => ({ task, total, shown: input.samples.filter((s) => s.task === task).length }))
    .filter((x) => x.shown < x.total)
    .map((x) => `${escapeHtml(x.task)}: first ${x.shown} of ${x.total}`)
    .join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>internvl-eval: ${escapeHtml(summary.run)}</title><style>${STYLE}</style></head>
<body>
<h1>internvl-eval: ${escapeHtml(summary.run)}</h1>
<p>Model <code>${escapeHtml(summary.model)}</code>${summary.variant ? ` · variant ${escapeHtml(summary.variant)}` : ''}${summary.createdAt ? ` · started ${escapeHtml(summary.createdAt)}` : ''}</p>
${groups}
<h2>Charts</h2><div id="charts" class="charts"></div>
<h2>Samples</h2>
<p class="note">${truncated ? `Showing ${truncated}.` : ''}</p>
<label>Task <select id="task-select"></select></label>
<label>Show <select id="filter"><option value="all">all</option><option value="wrong">wrong</option><option value="right">right</option><option value="error">errors</option></select></label>
<table id="samples"><thead><tr><th>image</th><th>id</th><th>prompt</th><th>prediction</th><th>answers</th><th>extracted</th><th>score</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="sample-data">${jsonForScript(input.samples)}</script>
<script type="application/json" id="chart-data">${jsonForScript(input.charts)}</script>
<script>${await chartJs()}</script>
<script>${CHART_SCRIPT}</script>
<script>${BROWSER_SCRIPT}</script>
</body></html>
`;
}
