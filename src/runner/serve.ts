/**
 * `serve`'s library entry: startServer() and its options. The server lives in ./serve/ as small modules (request
 * body, images, stop strings, server-sent events, HTTP errors, the server itself).
 */
export { startServer, type RunningServer, type ServeOptions, type ServerHealth } from './serve/server.ts';
export { parseChatBody, type ChatBodyOptions, type ParsedChat } from './serve/chat-body.ts';
