/**
 * WebGPU for tests on machines without a GPU: onnxruntime-node's WebGPU provider (Dawn) starts on SwiftShader, the
 * software Vulkan driver that Debian's `chromium` package ships (model-runtime.md: Mesa's lavapipe is rejected by
 * Dawn). Dawn needs the Vulkan loader (`libvulkan1`) and `VK_ICD_FILENAMES` pointing at SwiftShader's ICD JSON;
 * this sets the variable for the test process when it is unset and the file exists, then starts a one-node
 * session to see whether an adapter comes up.
 *
 * Without an adapter the WebGPU tests skip with the reason printed, except when REQUIRE_WEBGPU=1 (CI sets it:
 * there they must run).
 */
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, type DataTypeId } from '../../../src/model/graph/onnx-builder.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface WebGpuProbe {
  readonly ok: boolean;
  /** Why WebGPU cannot run here (when !ok). */
  readonly reason: string;
  /** Whether the adapter runs float16 kernels (SwiftShader has no shader-f16). */
  readonly float16: boolean;
  readonly float16Reason: string;
}

async function tryGraph(elem: DataTypeId): Promise<void> {
  const g = new GraphBuilder({ name: 'probe' });
  const x = g.input('x', elem, [2]);
  g.output(g.op('Add', [x, x]), 'y', elem, [2]);
  const s = await ort.InferenceSession.create(g.encode(), {
    executionProviders: ['webgpu'],
    // Fail instead of falling back to the CPU provider for a node the device cannot run.
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  });
  const data = elem === DataType.FLOAT ? new Float32Array([1, 2]) : new Uint16Array([0x3c00, 0x4000]);
  await s.run({ x: new ort.Tensor(elem === DataType.FLOAT ? 'float32' : 'float16', data, [2]) });
  await s.release();
}

let probe: Promise<WebGpuProbe> | null = null;

export function probeWebGpu(): Promise<WebGpuProbe> {
  probe ??= (async () => {
    if (!process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
    try {
      await tryGraph(DataType.FLOAT);
    } catch (err) {
      const reason =
        `no WebGPU adapter (${(err as Error).message.split('\n')[0]}); ` +
        `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}: install libvulkan1 and chromium (SwiftShader)`;
      return { ok: false, reason, float16: false, float16Reason: reason };
    }
    try {
      await tryGraph(DataType.FLOAT16);
      return { ok: true, reason: '', float16: true, float16Reason: '' };
    } catch (err) {
      return {
        ok: true,
        reason: '',
        float16: false,
        float16Reason: `this WebGPU adapter cannot run float16 kernels (no shader-f16; SwiftShader has none): ${
          (err as Error).message.split('\n')[0]
        }`,
      };
    }
  })();
  return probe;
}

/** Throws when CI requires WebGPU and it is missing; otherwise prints why the tests skip. */
export function reportSkip(what: string, reason: string): void {
  if (process.env.REQUIRE_WEBGPU === '1')
    throw new Error(`REQUIRE_WEBGPU=1 but ${what} cannot run: ${reason}`);
  console.warn(`skipping ${what}: ${reason}`);
}
