// Runs the shared balancer conformance suite against every algorithm createBalancer offers.
import { createBalancer } from '../../src/balancer/index.js';
import type { BalanceAlgorithm } from '../../src/config/types.js';
import { runConformance } from './conformance.js';
import type { FakeBackend } from './fake-backend.js';

const algorithms: BalanceAlgorithm[] = ['round-robin', 'random', 'least-request', 'load-aware'];

for (const algorithm of algorithms) {
  runConformance(algorithm, (deps) => createBalancer<FakeBackend>(algorithm, deps));
}
