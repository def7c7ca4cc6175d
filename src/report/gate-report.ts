/**
 * The gate's outputs: JUnit XML (one testcase per task, which CI systems show natively), a short Markdown table
 * for a pull-request comment, and plain lines for the terminal. The JSON output is the GateResult itself.
 */
import type { CardTaskResult, GateResult, Outcome, PairedTaskResult } from './gate.ts';

const num = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d);
const signed = (x: number, d = 2) => (Number.isFinite(x) && x >= 0 ? '+' : '') + num(x, d);
const pct = (level: number) => `${Math.round(level * 100)}%`;

/** One line of numbers for a paired task (JUnit message, terminal). */
export function pairedLine(t: PairedTaskResult): string {
  return (
    `Δ ${signed(t.delta)} (${pct(t.level)} CI [${num(t.ci[0])}, ${num(t.ci[1])}]), max drop ${num(t.maxDrop)}; ` +
    `${t.baseline.toFixed(2)} → ${t.candidate.toFixed(2)}; flips right→wrong ${t.rightToWrong}, ` +
    `wrong→right ${t.wrongToRight}; n=${t.n}${t.excluded ? ` (${t.excluded} excluded)` : ''}`
  );
}

export function cardLine(t: CardTaskResult): string {
  if (t.score === null || t.card === null) return `n=${t.n}`;
  return (
    `ours ${num(t.score)} (95% CI [${num(t.ci95?.[0])}, ${num(t.ci95?.[1])}]), card ${num(t.card)}, ` +
    `tolerance ${num(t.tolerance)}, precision ${num(t.precision)}; n=${t.n}`
  );
}

function lineOf(r: GateResult, t: PairedTaskResult | CardTaskResult): string {
  return r.mode === 'paired' ? pairedLine(t as PairedTaskResult) : cardLine(t as CardTaskResult);
}

export function gateTitle(r: GateResult): string {
  return r.mode === 'paired'
    ? `Regression gate: ${r.candidate} vs ${r.baseline}`
    : `Card reproduction check: ${r.run}`;
}

/** XML 1.0 text: escaped, and characters XML cannot hold at all (most C0 controls) replaced. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
    );
}

const count = (tasks: readonly { outcome: Outcome }[], o: Outcome) =>
  tasks.filter((t) => t.outcome === o).length;

/**
 * JUnit XML (the common Jenkins/Surefire dialect GitHub, GitLab and Azure read): a regression, a miss of the card
 * and an inconclusive task are each a <failure> (type says which); a task without a card value is <skipped>.
 */
export function renderJunit(r: GateResult): string {
  const tasks: readonly (PairedTaskResult | CardTaskResult)[] = r.tasks;
  const failures = count(tasks, 'fail') + count(tasks, 'inconclusive');
  const skipped = count(tasks, 'skipped');
  const suite = gateTitle(r);
  const classname = r.mode === 'paired' ? `gate.${r.candidate}_vs_${r.baseline}` : `card-check.${r.run}`;
  const props: [string, string][] =
    r.mode === 'paired'
      ? [
          ['baseline', r.baseline],
          ['candidate', r.candidate],
          ['alpha', String(r.alpha)],
          ['vary', r.vary.join(',')],
        ]
      : [['run', r.run]];
  if (r.thresholds) props.push(['thresholds', r.thresholds]);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="internvl-eval gate" tests="${tasks.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${tasks.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`),
    '    </properties>',
  ];
  for (const t of tasks) {
    const line = lineOf(r, t);
    out.push(`    <testcase name="${xmlEscape(t.task)}" classname="${xmlEscape(classname)}" time="0">`);
    if (t.outcome === 'fail' || t.outcome === 'inconclusive') {
      out.push(
        `      <failure type="${xmlEscape(t.verdict)}" message="${xmlEscape(`${t.verdict}: ${line}`)}">${xmlEscape(`${t.reason}\n${line}`)}</failure>`,
      );
    } else if (t.outcome === 'skipped') {
      out.push(`      <skipped message="${xmlEscape(`${t.verdict}: ${t.reason}`)}"/>`);
    }
    out.push(`      <system-out>${xmlEscape(`${t.verdict}: ${t.reason}\n${line}`)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const VERDICT_MARK: Record<Outcome, string> = {
  pass: '✅',
  fail: '❌',
  inconclusive: '⚠️',
  skipped: '➖',
};

/** A short Markdown table fit for a pull-request comment. */
export function renderGateMarkdown(r: GateResult): string {
  const out = [`### ${gateTitle(r)}: ${r.headline}`, ''];
  if (r.mode === 'paired') {
    out.push(
      `| task | verdict | baseline | candidate | Δ | ${pct(1 - 2 * r.alpha)} CI | max drop | right→wrong | wrong→right | n |`,
      '|---|---|---:|---:|---:|---|---:|---:|---:|---:|',
    );
    for (const t of r.tasks)
      out.push(
        `| ${cell(t.title)} | ${VERDICT_MARK[t.outcome]} ${t.verdict} | ${num(t.baseline)} | ${num(t.candidate)} | ${signed(t.delta)} | [${num(t.ci[0])}, ${num(t.ci[1])}] | ${num(t.maxDrop)} | ${t.rightToWrong} | ${t.wrongToRight} | ${t.n} |`,
      );
    if (r.settingsDiff.length)
      out.push(
        '',
        `Compared: ${r.settingsDiff.map((d) => `\`${d.key}\` ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`).join(', ')}.`,
      );
  } else {
    out.push(
      '| task | verdict | ours | 95% CI | card | tolerance | n |',
      '|---|---|---:|---|---:|---:|---:|',
    );
    for (const t of r.tasks)
      out.push(
        `| ${cell(t.title)} | ${VERDICT_MARK[t.outcome]} ${t.verdict} | ${num(t.score)} | ${t.ci95 ? `[${num(t.ci95[0])}, ${num(t.ci95[1])}]` : '–'} | ${num(t.card)} | ${num(t.tolerance)} | ${t.n} |`,
      );
  }
  const tasks: readonly (PairedTaskResult | CardTaskResult)[] = r.tasks;
  const explained = tasks.filter((t) => t.outcome !== 'pass');
  if (explained.length) {
    out.push('');
    for (const t of explained) out.push(`- **${cell(t.task)}** ${t.verdict}: ${cell(t.reason)}`);
  }
  for (const n of r.notes) out.push('', `_${cell(n)}_`);
  out.push('');
  return out.join('\n');
}

/** Terminal lines: one per task and the headline last (what a CI log shows at its end). */
export function renderGateText(r: GateResult): string {
  const tasks: readonly (PairedTaskResult | CardTaskResult)[] = r.tasks;
  const width = Math.max(...tasks.map((t) => t.task.length));
  const lines = [gateTitle(r)];
  if (r.mode === 'paired' && r.settingsDiff.length)
    lines.push(
      `compared: ${r.settingsDiff.map((d) => `${d.key} ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`).join(', ')}`,
    );
  for (const t of tasks)
    lines.push(`  ${t.task.padEnd(width)}  ${t.verdict.padEnd(14)} ${lineOf(r, t)}; ${t.reason}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push(`gate: ${r.headline}`);
  return lines.join('\n') + '\n';
}
