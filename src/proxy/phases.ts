// The order of one request's phases, in one place: strict check -> id -> route -> exchange.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackendPool } from '../backends/pool.js';
import type { AccessRecord } from '../observe/log.js';
import type { Router } from '../routing/routes.js';
import { Exchange, type ExchangeContext } from './exchange.js';
import { Failures, failureBody, type FailureKind } from './failures.js';
import { requestIdFor } from './request-id.js';
import { checkRequest, originForm } from './strict.js';

export interface RequestContext extends ExchangeContext {
  /** The router of the configuration in force (swapped on reload). */
  router(): Router<BackendPool>;
}

/**
 * 1. strict: reject what nginx would reject (ambiguous framing, bad syntax) before anything else;
 * 2. id: keep the client's x-request-id or make one;
 * 3. route: first matching route picks the pool (404 when none);
 * 4. exchange: body policy, backend pick (503 when none is READY), forward with retries, stream back,
 *    account (metrics, access log, passive health) — see exchange.ts.
 */
export function handleRequest(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): void {
  const rejection = checkRequest(req);
  if (rejection !== null) {
    ctx.metrics.rejected.inc({ reason: rejection.code });
    const id = requestIdFor(undefined);
    const body = `{"error":"${rejection.code}","message":${JSON.stringify(rejection.reason)},"requestId":"${id}"}`;
    res.shouldKeepAlive = false;
    res.writeHead(rejection.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close', 'x-request-id': id });
    res.end(body, () => req.socket.destroy());
    return;
  }
  // Absolute-form (GET http://host/path) is routed and forwarded as origin-form, as nginx does.
  if (req.url !== undefined && req.url.charCodeAt(0) !== 0x2f) req.url = originForm(req.url);
  const requestId = requestIdFor(req.headers['x-request-id']);
  const pool = ctx.router().match(req);
  if (pool === null) {
    ctx.metrics.noRoute.inc();
    ctx.metrics.errors.inc({ pool: '', kind: Failures.noRoute.code });
    answer(res, Failures.noRoute, requestId, ctx.draining());
    ctx.access?.info({
      requestId, method: req.method ?? '', path: req.url ?? '', status: Failures.noRoute.status, pool: '', group: '', backend: '',
      attempts: 0, upstreamMs: -1, totalMs: 0, bytesIn: 0, bytesOut: 0, error: Failures.noRoute.code,
    } satisfies AccessRecord);
    return;
  }
  new Exchange(ctx, req, res, pool, requestId).start();
}

/** A JSON error answered before any exchange exists. */
export function answer(res: ServerResponse, failure: FailureKind, requestId: string, close: boolean): void {
  const body = failureBody(failure, requestId);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId };
  if (close) headers.connection = 'close';
  res.writeHead(failure.status, headers);
  res.end(body);
}
