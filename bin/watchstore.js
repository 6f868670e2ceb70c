#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8's young generation may otherwise grow to 2 × 16 MB under the
// server's load; capped at 2 × 8 MB, `watchstore serve` uses about 18 MB less memory after the
// benchmarks at the same throughput (bench/README.md). `npm start` passes the same flag.
import '../dist/src/cli/main.js';
