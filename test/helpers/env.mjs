// Environment every test process (and every child it starts) runs with: quiet logs, cheap
// bcrypt, and fixed token secrets. Set before any project module reads the configuration.
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL ??= 'silent';
process.env.BCRYPT_COST ??= '4';
process.env.ACCESS_TOKEN_SECRET ??= 'test-access-secret-0123456789abcdef0123456789';
process.env.REFRESH_TOKEN_SECRET ??= 'test-refresh-secret-0123456789abcdef012345678';
// Generous, so a loaded CI machine does not turn a slow query into a 503 (the stall test sets its own).
process.env.DB_TIMEOUT_MS ??= '30000';
