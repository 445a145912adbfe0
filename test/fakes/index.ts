// Fake model servers for tests: one per preset, each a real HTTP server on 127.0.0.1, port 0.
export { FakeModelServer, type FakeServerOptions } from './base.js';
export { FakeKServe } from './kserve.js';
export { FakeTgi, type FakeTgiOptions } from './tgi.js';
export { FakeTorchServe, type FakeTorchServeOptions } from './torchserve.js';
export { FakeTriton, type FakeTritonOptions } from './triton.js';
export { FakeVllm, type FakeVllmOptions } from './vllm.js';
