// EngineOptions: defaults and validation in one place; the shared CLI flags produce it whole for every command;
// the variant table drives the choices; cpu-cores' defaults; build.json has one reader.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { engineFlags, engineOptionsFromArgs } from '../../../src/cli/engine-flags.ts';
import { runOptions, runOptionsFromArgs, type RunArgs } from '../../../src/cli/run.ts';
import {
  availableCores,
  defaultEngineThreads,
  defaultPreprocessWorkers,
} from '../../../src/model/cpu-cores.ts';
import { resolveEngineOptions } from '../../../src/model/engine/engine-options.ts';
import { decoderPlan, hostKvBinding, planSessions } from '../../../src/model/engine/sessions.ts';
import { readBuildInfo } from '../../../src/model/graph/build-info.ts';
import { VARIANT_TABLE, VARIANTS, variantSpec } from '../../../src/model/graph/variants.ts';

describe('resolveEngineOptions', () => {
  it.each([
    [{}, { variant: 'fp32', device: 'cpu', threads: availableCores(), visionBatch: 4 }],
    [
      { variant: 'int4', threads: 3, blockSize: 128 },
      { variant: 'int4', threads: 3, blockSize: 128 },
    ],
    [
      { device: 'webgpu', visionBatch: 2 },
      { device: 'webgpu', visionBatch: 2 },
    ],
  ])('%j → %j', (input, expected) => {
    expect(resolveEngineOptions(input)).toMatchObject(expected);
  });

  it.each([
    [{ variant: 'int3' }, /unknown variant 'int3'/],
    [{ device: 'tpu' }, /unknown device 'tpu'/],
    [{ threads: 0 }, /threads must be a positive integer/],
    [{ visionBatch: 1.5 }, /visionBatch must be a positive integer/],
    [{ variant: 'fp16', blockSize: 64 }, /int8\/int4 only, not fp16/],
  ])('%j is refused', (input, message) => {
    expect(() => resolveEngineOptions(input)).toThrow(message);
  });
});

describe('cpu-cores defaults', () => {
  it.each([
    [1, 1, 1],
    [2, 2, 1],
    [8, 8, 2],
    [16, 16, 4],
  ])('%i cores: %i engine threads, %i preprocess workers', (cores, threads, workers) => {
    expect(defaultEngineThreads(cores)).toBe(threads);
    expect(defaultPreprocessWorkers(cores)).toBe(workers);
  });
});

describe('engine flags', () => {
  const parse = (args: string[]) => engineFlags(yargs(args)).exitProcess(false).strict().parseSync();

  it('turn into one EngineOptionsInput, unset flags absent', () => {
    const argv = parse(['--variant', 'int4', '--threads', '2', '--block-size', '128', '--cache-dir', '/c']);
    expect(engineOptionsFromArgs(argv)).toEqual({
      variant: 'int4',
      threads: 2,
      blockSize: 128,
      cacheDir: '/c',
    });
    expect(engineOptionsFromArgs(parse([]))).toEqual({});
  });

  it('offer the variant table as choices', () => {
    expect(() => parse(['--variant', 'int3'])).toThrow(/Choices: "fp32", "fp16", "int8", "int4"/);
    expect(VARIANTS).toEqual(Object.keys(VARIANT_TABLE));
  });

  it('`run` keeps --threads and the build flags in RunOptions.engine (they used to be dropped)', () => {
    const argv = runOptions(
      yargs(['--model', 'm', '--threads', '2', '--block-size', '64', '--variant', 'int8']),
    )
      .exitProcess(false)
      .parseSync() as unknown as RunArgs;
    expect(runOptionsFromArgs(argv).engine).toEqual({ variant: 'int8', threads: 2, blockSize: 64 });
  });
});

describe('planSessions', () => {
  it('sets the threads and the providers; WebGPU prefills in chunks, the cache stays on the host', () => {
    const cpu = planSessions({ device: 'cpu', threads: 2 });
    expect(cpu.session).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 2 });
    expect(cpu.decoder).toEqual({ kvCache: { location: 'cpu', binding: hostKvBinding() } });
    const gpu = planSessions({ device: 'webgpu', threads: 2 });
    expect(gpu.session.executionProviders).toEqual(['webgpu', 'cpu']);
    expect(gpu.decoder.prefillChunk).toBe(31);
  });
});

describe('host KV binding (sessions.ts decoderPlan)', () => {
  it.each([
    ['cpu', {}, { location: 'cpu', binding: 'in-place' }],
    ['cpu', { INTERNVL_EVAL_HOST_KV: 'append' }, { location: 'cpu', binding: 'append' }],
    ['cpu', { INTERNVL_EVAL_HOST_KV: 'in-place' }, { location: 'cpu', binding: 'in-place' }],
    ['cpu', { INTERNVL_EVAL_HOST_KV: '' }, { location: 'cpu', binding: 'in-place' }],
    // the C API session runs the CPU provider only; CUDA keeps onnxruntime-node
    ['cuda', {}, { location: 'cpu', binding: 'append' }],
    ['webgpu', { INTERNVL_EVAL_HOST_KV: 'append' }, { location: 'device' }],
  ] as const)('%s with %j -> %j', (device, env, kvCache) => {
    expect(decoderPlan(device, env).kvCache).toEqual(kvCache);
  });

  it('refuses an unknown INTERNVL_EVAL_HOST_KV value, naming the variable', () => {
    expect(() => hostKvBinding({ INTERNVL_EVAL_HOST_KV: 'inplace' })).toThrow(
      /INTERNVL_EVAL_HOST_KV must be 'in-place' or 'append', got 'inplace'/,
    );
  });
});

describe('variant table', () => {
  it('quantized rows carry bits, block size and accuracy level; float rows none', () => {
    expect(variantSpec('int4')).toMatchObject({ bits: 4, accuracyLevel: 4 });
    expect(variantSpec('int8')).toMatchObject({ bits: 8, blockSize: 32, accuracyLevel: 4 });
    expect(variantSpec('fp16').bits).toBeUndefined();
    expect(() => variantSpec('bf16')).toThrow(/expected one of fp32, fp16, int8, int4/);
  });
});

describe('readBuildInfo (the one build.json reader)', () => {
  it('names the file and the field that is wrong', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'build-info-'));
    try {
      expect(() => readBuildInfo(dir)).toThrow(/build\.json: not a built model/);
      const good = {
        builderVersion: '4',
        variant: 'fp32',
        checkpointHash: 'x',
        quant: null,
        logits: 'last',
        llm: { hidden: 8, layers: 1, heads: 1, kvHeads: 1, headDim: 8, vocab: 4 },
        vision: { imageSize: 448, numImageToken: 256 },
        files: { vision: 'v.onnx', embed: 'e.onnx', decoder: 'd.onnx' },
      };
      await mkdir(dir, { recursive: true });
      for (const f of ['v.onnx', 'e.onnx', 'd.onnx']) await writeFile(path.join(dir, f), '');
      await writeFile(path.join(dir, 'build.json'), JSON.stringify(good));
      expect(readBuildInfo(dir)).toMatchObject({ variant: 'fp32', logits: 'last' });
      await writeFile(path.join(dir, 'build.json'), JSON.stringify({ ...good, variant: 'int3' }));
      expect(() => readBuildInfo(dir)).toThrow(/field 'variant' must be one of/);
      await writeFile(
        path.join(dir, 'build.json'),
        JSON.stringify({ ...good, llm: { ...good.llm, layers: 0 } }),
      );
      expect(() => readBuildInfo(dir)).toThrow(/field 'llm.layers' must be a positive integer/);
      await writeFile(
        path.join(dir, 'build.json'),
        JSON.stringify({ ...good, files: { ...good.files, decoder: 'x.onnx' } }),
      );
      expect(() => readBuildInfo(dir)).toThrow(/field 'files.decoder' names .*x\.onnx, which does not exist/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
