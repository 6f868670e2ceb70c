#!/usr/bin/env node
import { runAsProcess } from '../dist/src/cli/main.js';

await runAsProcess();
