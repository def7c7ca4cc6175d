/**
 * A built model folder as the engine uses it: build.json (read and checked by the graph builder's one reader,
 * src/model/graph/build-info.ts) with absolute paths.
 */
import path from 'node:path';
import { hasBuildInfo, readBuildInfo, type BuildInfo } from '../graph/build-info.ts';

export type BuiltVariant = BuildInfo['variant'];

export interface BuiltModelInfo {
  readonly dir: string;
  readonly builderVersion: string;
  readonly variant: BuiltVariant;
  readonly checkpointHash: string;
  readonly quant: BuildInfo['quant'];
  readonly llm: BuildInfo['llm'];
  readonly vision: BuildInfo['vision'];
  /** Absolute paths of the three graphs. */
  readonly files: { vision: string; embed: string; decoder: string };
}

export function isBuiltModelDir(dir: string): boolean {
  return hasBuildInfo(dir);
}

export function readBuiltModelInfo(dir: string): BuiltModelInfo {
  const abs = path.resolve(dir);
  const info = readBuildInfo(abs);
  return {
    dir: abs,
    builderVersion: info.builderVersion,
    variant: info.variant,
    checkpointHash: info.checkpointHash,
    quant: info.quant,
    llm: info.llm,
    vision: info.vision,
    files: {
      vision: path.join(abs, info.files.vision),
      embed: path.join(abs, info.files.embed),
      decoder: path.join(abs, info.files.decoder),
    },
  };
}
