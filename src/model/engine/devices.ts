/** Execution providers the engine can run on: the CLI's choices, engine options, session planning (sessions.ts). */
export type EngineDevice = 'cpu' | 'cuda' | 'webgpu';

export const ENGINE_DEVICES: readonly EngineDevice[] = ['cpu', 'cuda', 'webgpu'];
