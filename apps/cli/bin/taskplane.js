#!/usr/bin/env node
// The `taskplane` command: runs src/main.ts through tsx's loader in this same process, so signals
// and the exit code need no forwarding.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
