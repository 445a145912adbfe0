// Which failures are infergate's own (out of file descriptors, ports or buffers on this host), not the backend's.
//
// A probe that cannot even open a socket says nothing about the model server: with 3,000 idle client connections
// under a 1024 fd limit every probe failed with EMFILE and healthy backends were marked UNREADY. Such a failure is
// logged and counted as the balancer's own, and the backend keeps its state until a probe really reaches it.

/** errno codes raised on our side of a connect(): the host is short of a resource, the peer was never asked. */
const LOCAL_CODES: ReadonlySet<string> = new Set([
  'EMFILE', // this process is out of file descriptors
  'ENFILE', // the system is out of file descriptors
  'ENOBUFS', // no buffer space in the kernel
  'ENOMEM', // out of kernel memory
  'EADDRNOTAVAIL', // on connect(): no free local (ephemeral) port
  'EADDRINUSE', // on connect(): the local address/port pair is taken
]);

/** The error code when it is a local resource failure, else null. */
export function localFailureCode(code: string | null | undefined): string | null {
  return typeof code === 'string' && LOCAL_CODES.has(code) ? code : null;
}

/**
 * The same, found in a gRPC client's error text, which reports the socket error only in words ("... connect EMFILE
 * 127.0.0.1:8001"). Only our own connect() failing counts: a server's grpc-message that mentions EMFILE (the server
 * out of descriptors) is the backend's failure.
 */
export function localFailureInText(text: string | null): string | null {
  if (text === null) return null;
  const m = /\bconnect (EMFILE|ENFILE|ENOBUFS|ENOMEM|EADDRNOTAVAIL|EADDRINUSE)\b/.exec(text);
  return m === null ? null : m[1]!;
}
