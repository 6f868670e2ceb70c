// `npm run test:cluster`: the topology test (nginx, 3 servers, MariaDB, Redis), apart from `npm test`.
export default {
  extensions: { ts: 'module' },
  files: ['test-cluster/**/*.test.ts'],
  require: ['./test/helpers/tsx-register.mjs'],
  timeout: '300s',
  workerThreads: false,
};
