// `npm test`: the suite as tsc compiled it into dist/ (npm test builds first), so no test process
// transpiles TypeScript again. `npx ava test/…/x.test.ts` still runs one source file through tsx
// (package.json's "ava" key). Source maps point failures at the .ts lines.
export default {
  files: ['dist/test/**/*.test.js'],
  require: ['./test/helpers/env.mjs'],
  nodeArguments: ['--enable-source-maps'],
  // Most of a test's time is spent waiting on a database, a child process or a socket, not on the
  // CPU: four files at once finish sooner than two on this 2-core machine.
  concurrency: 4,
  timeout: '120s',
  workerThreads: false,
};
