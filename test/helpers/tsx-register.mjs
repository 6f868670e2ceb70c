// Loaded by ava in every test process: TypeScript through tsx, and the test environment.
import { register } from 'tsx/esm/api';
import './env.mjs';

register();
