// The order of one request's phases, in one place.
//
//  1. strict     reject what nginx would reject (ambiguous framing, bad syntax) before anything else   strict.ts
//  2. id         keep the client's x-request-id or make one; the client's address                        request-id.ts, client-address.ts
//  3. route      the first matching route names the pool (404 when none)                               routing/routes.ts
//  4. body       413 above maxBodySize; read a small body whole before any backend is picked (at a
//                minimum pace, within the pool's buffer memory; its prompt hashed for prefix affinity),
//                else stream it at the same pace                                                          body.ts, body-pace.ts
//  5. deadline   the total timeout starts                                                              exchange.ts
//  6. pick       the cluster picks a READY backend in the request's group (or another group) — the one
//                holding the prompt's longest prefix first, with prefix affinity — or the request waits
//                in the queue (held too while every backend is past its overload thresholds), or 503      cluster/cluster.ts, affinity/, overload/
//  7. forward    one attempt: headers cleaned, body streamed, the answer streamed back with
//                backpressure; a sized head held back until its first byte                             forward.ts
//  8. report     every attempt tells the cluster what it did: head (latency, outlier) and end
//                (slot freed, failures, canary analysis)                                                cluster.report()
//  9. retry      a failed attempt (or a retry.onStatus answer) goes back to 6 when retry.ts says so     retry.ts
// 10. respond    the response, or one JSON error from the failure table                                error-body.ts
// 11. account    metrics and the access log, exactly once                                              accounting.ts
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from '../cluster/cluster.js';
import type { Router } from '../routing/routes.js';
import type { ExchangeContext } from './accounting.js';
import { planBody, readAhead } from './body.js';
import { writeFailure } from './error-body.js';
import { Exchange } from './exchange.js';
import { Failures } from './failures.js';
import { requestDeadlineMs } from './grpc.js';
import { upstreamRequestHeaders } from './headers.js';
import { httpVersionOf, isHttp2Request, protocolOf } from './protocol.js';
import { requestIdFor } from './request-id.js';
import { checkRequest, originForm } from './strict.js';

export interface RequestContext extends ExchangeContext {
  /** The router of the configuration in force (swapped on reload). */
  router(): Router<Cluster>;
}

export function handleRequest(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): void {
  // 1. strict
  const rejection = checkRequest(req);
  if (rejection !== null) {
    ctx.stats.rejected(rejection.code);
    // HTTP/1.1: the connection cannot be trusted after a malformed request: answered, then closed. HTTP/2: only
    // this stream ends; its framing is nghttp2's and other streams share the connection.
    if (isHttp2Request(req)) {
      writeFailure(res, rejection, requestIdFor(undefined), false);
      return;
    }
    res.shouldKeepAlive = false;
    writeFailure(res, rejection, requestIdFor(undefined), true, () => req.socket.destroy());
    return;
  }
  // Absolute-form (GET http://host/path) is routed and forwarded as origin-form, as nginx does.
  if (req.url !== undefined && req.url.charCodeAt(0) !== 0x2f) req.url = originForm(req.url);
  // 2. id, and who the client is (the peer, or X-Forwarded-For from a trusted proxy)
  const requestId = requestIdFor(req.headers['x-request-id']);
  const peer = req.socket.remoteAddress ?? '';
  const trusted = ctx.trustedProxies();
  const peerTrusted = trusted.trusts(peer);
  const client = peerTrusted ? trusted.clientOf(peer, req.headers['x-forwarded-for']) : peer;
  // 3. route
  const route = ctx.router().match(req);
  if (route === null) {
    ctx.stats.noRoute();
    ctx.stats.failed('', Failures.noRoute.code);
    writeFailure(res, Failures.noRoute, requestId, ctx.draining());
    ctx.access()?.write({
      requestId, client, peer, proto: protocolOf(req), httpVersion: httpVersionOf(req), method: req.method ?? '', url: req.url ?? '',
      status: Failures.noRoute.status, upstreamStatus: 0, pool: '', group: '', backend: '', pick: null, affinity: null, overload: null, fallbackFrom: null, attempts: 0,
      connectMs: -1, upstreamMs: -1, firstByteMs: -1, totalMs: 0, bytesIn: 0, bytesOut: 0,
      userAgent: req.headers['user-agent'], referer: req.headers.referer, error: Failures.noRoute.code, cut: null,
    });
    return;
  }
  const cluster = route.pool;
  // The peer read now: an HTTP/2 stream's socket is gone from its request once the stream closed (a 499).
  const x = new Exchange(ctx, req, res, cluster, requestId, client, peer);
  x.route = route.config.name;
  const cfg = cluster.config;
  // 4. body
  const plan = planBody(req, cfg);
  if (plan.kind === 'too-large') {
    x.fail(Failures.bodyTooLarge, true);
    return;
  }
  // 5. deadline
  const totalMs = requestDeadlineMs(cfg.timeouts.totalMs, req.headers);
  if (totalMs > 0) x.totalTimer = ctx.clock.setTimer(totalMs, () => x.onTotalTimeout());
  x.upstreamHeaders = upstreamRequestHeaders(req, { requestId, hostOverride: cfg.hostHeader, client, peerTrusted });
  // 6.-11.: each attempt picks, forwards, reports and maybe retries; the exchange answers and accounts at the end.
  switch (plan.kind) {
    case 'none':
      x.attempt();
      return;
    case 'stream':
      x.streamBody();
      x.attempt();
      return;
    case 'buffer':
      x.readingAhead = readAhead(req, plan, cfg.maxBodyBytes, cfg.requestBody, ctx.clock, cluster.bodyBuffers, x);
      return;
    default: {
      const never: never = plan;
      throw new Error(`unknown body plan ${JSON.stringify(never)}`);
    }
  }
}
