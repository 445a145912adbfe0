#!/usr/bin/env node
// Entry point: refuse to proxy on a Node.js that is too old, with a clear message, before loading the proxy.
// Validating a configuration (`check`), `--version` and `--help` load no HTTP code and work on any Node.
const MIN = [22, 19] as const;
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const offline = process.argv.slice(2).some((a) => a === 'check' || a === '--version' || a === '-v' || a === '--help' || a === '-h');
if (!offline && (major < MIN[0] || (major === MIN[0] && minor < MIN[1]))) {
  process.stderr.write(
    `infergate needs Node.js >= ${MIN[0]}.${MIN[1]} (Node 24 LTS recommended); this is ${process.version}.\n` +
      'Older HTTP parsers have request-smuggling holes that matter to a proxy. Install Node 24, e.g. npm i --prefix /opt/node24 node@24\n',
  );
  process.exit(1);
}
await import('./commands.js');
