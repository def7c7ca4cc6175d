// Every CLI command, in the order --help lists them.
import { scoreCommand } from './score.ts';
import { preprocessCommand } from './preprocess.ts';
import { tokenizeCommand } from './tokenize.ts';
import { promptCommand } from './prompt.ts';
import { buildCommand } from './build.ts';
import { chatCommand } from './chat.ts';
import { makeCheckpointCommand } from './make-checkpoint.ts';
import { datasetsCommand } from './datasets.ts';
import { runCommand } from './run.ts';
import { mergeCommand } from './merge.ts';
import { serveCommand } from './serve.ts';
import { compareCommand } from './compare.ts';
import { gateCommand } from './gate.ts';
import { sweepCommand } from './sweep.ts';
import { reportCommand } from './report.ts';
import { demoCommand } from './demo.ts';

export const commands = [
  scoreCommand,
  preprocessCommand,
  tokenizeCommand,
  promptCommand,
  buildCommand,
  chatCommand,
  makeCheckpointCommand,
  datasetsCommand,
  runCommand,
  mergeCommand,
  serveCommand,
  compareCommand,
  gateCommand,
  sweepCommand,
  reportCommand,
  demoCommand,
];
