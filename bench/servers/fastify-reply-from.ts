/**
 * fastify + @fastify/reply-from as its README shows it: `base` set (an undici Pool, keep-alive), one catch-all route
 * answering `reply.from(url)`, the logger off, and a catch-all content-type parser so request bodies stream through
 * instead of being parsed.
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: fastify-reply-from.ts <backend-url> [port]');
const app = Fastify({ logger: false });
await app.register(replyFrom, { base: target });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
app.all('/*', (request, reply) => reply.from(request.url));

await app.listen({ host: '127.0.0.1', port: Number(process.argv[3] ?? 0) });
const address = app.server.address();
if (address !== null && typeof address !== 'string') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
