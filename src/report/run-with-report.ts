/**
 * The one place where an evaluation (or a merge of shards) is followed by its report. The runner produces a run
 * folder and nothing else; the CLI asks for the report through here, so the runner never imports src/report.
 */
import { mergeRuns, type MergeOptions, type MergeSummary } from '../runner/merge.ts';
import { runEvaluation, type RunOptions, type RunSummary } from '../runner/run-evaluation.ts';
import { writeRunReport } from './run-report.ts';
import type { RunSummary as ReportSummary } from './summary.ts';

export interface ReportStep {
  /** Path of report.html when it was written. */
  path?: string;
  /** Why there is no report (the run folder is kept either way). */
  note?: string;
  /** The run's summary the report was made from. */
  summary?: ReportSummary;
}

/** Writes the run's report; a failure becomes a note, never an exception: the finished run must not be lost. */
export async function writeReportStep(runDir: string): Promise<ReportStep> {
  try {
    const files = await writeRunReport(runDir);
    return { path: files.html, summary: files.built };
  } catch (err) {
    return { note: `report: writeRunReport failed: ${(err as Error).message}` };
  }
}

/** `runEvaluation`, then (unless `report` is false) the report; its note goes to the log and the summary. */
export async function runWithReport(options: RunOptions, report = true): Promise<RunSummary> {
  const summary = await runEvaluation(options);
  if (!report) return summary;
  const step = await writeReportStep(summary.runDir);
  if (step.path) summary.report = step.path;
  if (step.note) {
    summary.notes.push(step.note);
    if (options.log) options.log(step.note);
    else if (options.progress !== 'none') process.stderr.write(`${step.note}\n`);
  }
  return summary;
}

/** `mergeRuns`, then (unless `report` is false) the merged run's report. */
export async function mergeWithReport(options: MergeOptions, report = true): Promise<MergeSummary> {
  const summary = await mergeRuns(options);
  if (!report) return summary;
  const step = await writeReportStep(summary.runDir);
  if (step.note) summary.notes.push(step.note);
  return summary;
}
