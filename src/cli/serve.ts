/**
 * `internvl-eval serve --model M --port P`: an OpenAI-compatible server over the ONNX engine (or the echo test
 * backend). Library: startServer() in src/serve/server.ts.
 */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { createBackend, type BackendName } from '../runner/backends/create.ts';
import { startServer } from '../serve/server.ts';
import { engineFlags, engineOptionsFromArgs, type EngineArgs } from './engine-flags.ts';

interface ServeArgs extends EngineArgs {
  model: string;
  port: number;
  host: string;
  'served-model-name'?: string;
  'api-key-env'?: string;
  'max-body-mb': number;
  'allow-remote-images': boolean;
  'max-tiles': number;
  backend: string;
  'batch-size'?: number;
  'max-batch'?: number;
  'max-queue': number;
  'max-images': number;
  'max-image-pixels': number;
  'max-prompt-tokens'?: number;
  'preprocess-workers'?: number;
  quiet: boolean;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe:
    'Serve a model over an OpenAI-compatible API (chat completions with images, streaming, conversations; models; health)',
  builder: (y) =>
    engineFlags(y)
      .option('model', { type: 'string', demandOption: true, describe: 'Model folder (checkpoint or built)' })
      .option('port', { type: 'number', default: 8000, describe: 'Port (0: any free port)' })
      .option('host', {
        type: 'string',
        default: '127.0.0.1',
        describe: 'Address to bind (loopback by default)',
      })
      .option('served-model-name', {
        type: 'string',
        describe: 'Model id clients use (default: the folder name)',
      })
      .option('api-key-env', {
        type: 'string',
        describe: 'Environment variable holding the API key clients must send',
      })
      .option('max-body-mb', { type: 'number', default: 32, describe: 'Request body limit, MiB' })
      .option('allow-remote-images', {
        type: 'boolean',
        default: false,
        describe: 'Also fetch http(s) image URLs (file: is never allowed)',
      })
      .option('max-tiles', {
        type: 'number',
        default: 12,
        describe: 'Tile cap when a request names none (InternVL2 config max_dynamic_patch)',
      })
      .option('backend', {
        type: 'string',
        default: 'onnx',
        choices: ['onnx', 'echo'],
        describe: 'onnx engine, or echo (test backend: no model)',
      })
      .option('max-batch', {
        type: 'number',
        describe:
          'Most requests per engine call (dynamic batching: requests arriving during a batch join the next; default 1)',
      })
      .option('batch-size', { type: 'number', describe: 'Same as --max-batch (older name)' })
      .option('max-queue', {
        type: 'number',
        default: 256,
        describe: 'Requests waiting for the model beyond which new ones get 429 (Retry-After: 1)',
      })
      .option('max-images', {
        type: 'number',
        default: 16,
        describe: 'Images per request, all turns (413 above)',
      })
      .option('max-image-pixels', {
        type: 'number',
        default: 50_000_000,
        describe: 'Width × height per image, read from its header (413 above)',
      })
      .option('max-prompt-tokens', {
        type: 'number',
        describe: 'Prompt tokens per request, images expanded (413 above; default: no limit)',
      })
      .option('preprocess-workers', {
        type: 'number',
        describe:
          'Image preprocessing worker threads (default: a quarter of the cores, at least 1; 0 = main thread)',
      })
      .option('quiet', { type: 'boolean', default: false, describe: 'No request log' }),
  handler: async (argv) => {
    let apiKey: string | undefined;
    if (argv['api-key-env']) {
      apiKey = process.env[argv['api-key-env']];
      if (!apiKey) throw new Error(`--api-key-env ${argv['api-key-env']}: that variable is not set`);
    }
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(argv.host);
    if (!loopback && !apiKey) {
      process.stderr.write(`warning: serving on ${argv.host} without an API key (--api-key-env)\n`);
    }
    const backend = await createBackend({
      backend: argv.backend as BackendName,
      model: argv.model,
      engine: engineOptionsFromArgs(argv),
      batchSize: argv['max-batch'] ?? argv['batch-size'],
      preprocessWorkers: argv['preprocess-workers'],
    });
    const modelName = argv['served-model-name'] ?? path.basename(path.resolve(argv.model));
    const server = await startServer({
      backend,
      modelName,
      host: argv.host,
      port: argv.port,
      apiKey,
      maxBodyBytes: Math.round(argv['max-body-mb'] * 1024 * 1024),
      allowRemoteImages: argv['allow-remote-images'],
      defaultMaxTiles: argv['max-tiles'],
      maxQueue: argv['max-queue'],
      maxImages: argv['max-images'],
      maxImagePixels: argv['max-image-pixels'],
      ...(argv['max-prompt-tokens'] !== undefined ? { maxPromptTokens: argv['max-prompt-tokens'] } : {}),
      log: argv.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
    // One line on stdout that scripts (and tests) can wait for.
    process.stdout.write(`serving ${modelName} at ${server.url}/v1\n`);
    const stop = async () => {
      await server.close();
      await backend.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    await new Promise(() => {}); // serve until a signal
  },
};
