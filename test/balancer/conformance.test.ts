// Runs the shared balancer conformance suite against every algorithm createBalancer offers.
import { createBalancer, type BalancerAlgorithm } from '../../src/balancer/index.js';
import { runConformance } from './conformance.js';
import type { FakeBackend } from './fake-backend.js';

const algorithms: BalancerAlgorithm[] = ['round-robin', 'random', 'least-request'];

for (const algorithm of algorithms) {
  runConformance(algorithm, (deps) => createBalancer<FakeBackend>(algorithm, deps));
}
