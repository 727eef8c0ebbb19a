#!/usr/bin/env node
// The hub runs its TypeScript sources through tsx: no build step, no stale output.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
