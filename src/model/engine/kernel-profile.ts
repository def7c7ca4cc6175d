/**
 * Kernels (nodes) executed per decoder run, read from onnxruntime's own profiler: the session is opened with
 * `enableProfiling`, profiled until its first decode step, then `endProfiling()` writes a Chrome-trace JSON whose
 * `cat: "Node"` events are the kernels ORT ran (name `<node>_kernel_time`, `args.provider`, inside a `model_run`
 * event). After that the profiler is off, so later steps pay nothing. Counting the executed kernels (rather than
 * the nodes of the graph file) sees ORT's fusions, the nodes it placed on the CPU, and the copies it inserted
 * (MemcpyFromHost/ToHost), which is what a GPU pays a dispatch for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProfileEvent {
  readonly cat?: string;
  readonly name: string;
  readonly ts: number;
  readonly dur?: number;
  readonly args?: { provider?: string; op_name?: string };
}

export interface KernelCount {
  /** Every node run, on any provider. */
  readonly total: number;
  readonly byProvider: Readonly<Record<string, number>>;
  /** Nodes run by a device provider (not the CPU EP): GPU kernel dispatches. */
  readonly device: number;
  /** Device kernels of each decoder layer (by node name `…layers.<i>.…` / `….<i>.key|value`). */
  readonly perLayer: readonly number[];
  /** Device kernels outside the layers: mask/length arithmetic, final norm, head, copies. */
  readonly outsideLayers: number;
  /** op types of the device kernels, in order (for diagnostics). */
  readonly deviceOps: readonly string[];
}

const LAYER = /(?:layers\.|key_values\.|present\.)(\d+)\./;

/** Kernel counts of the `runIndex`-th `model_run` in a profile (0 = first run of the session). */
export function countRunKernels(events: readonly ProfileEvent[], runIndex: number): KernelCount {
  const runs = events.filter((e) => e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const run = runs[runIndex];
  if (!run) throw new Error(`profile has ${runs.length} runs, no run #${runIndex}`);
  const end = run.ts + (run.dur ?? 0);
  const nodes = events
    .filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= run.ts && e.ts <= end)
    .sort((a, b) => a.ts - b.ts);
  const byProvider: Record<string, number> = {};
  const perLayer: number[] = [];
  let outsideLayers = 0;
  const deviceOps: string[] = [];
  for (const n of nodes) {
    const provider = n.args?.provider ?? 'unknown';
    byProvider[provider] = (byProvider[provider] ?? 0) + 1;
    if (provider === 'CPUExecutionProvider') continue;
    deviceOps.push(n.args?.op_name ?? '?');
    const m = LAYER.exec(n.name);
    if (m) {
      const i = Number(m[1]);
      while (perLayer.length <= i) perLayer.push(0);
      perLayer[i]++;
    } else outsideLayers++;
  }
  const device = nodes.length - (byProvider.CPUExecutionProvider ?? 0);
  return { total: nodes.length, byProvider, device, perLayer, outsideLayers, deviceOps };
}

/** A profiling session's output folder and how to read it back once. */
export class KernelProfile {
  readonly dir: string;
  private finished = false;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'internvl-kernels-'));
  }

  /** Session options that turn ORT's profiler on, writing into this profile's folder. */
  sessionOptions(): { enableProfiling: true; profileFilePrefix: string } {
    return { enableProfiling: true, profileFilePrefix: path.join(this.dir, 'decoder') };
  }

  /** Ends profiling of `session` (ORT then stops profiling it) and returns the events; the folder is removed. */
  finish(session: { endProfiling(): unknown }): ProfileEvent[] {
    if (this.finished) return [];
    this.finished = true;
    try {
      void session.endProfiling();
      const files = fs.readdirSync(this.dir).filter((f) => f.endsWith('.json'));
      if (files.length === 0) return [];
      const parsed = JSON.parse(fs.readFileSync(path.join(this.dir, files[0]), 'utf8')) as unknown;
      return Array.isArray(parsed) ? (parsed as ProfileEvent[]) : [];
    } finally {
      this.discard();
    }
  }

  discard(): void {
    this.finished = true;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
