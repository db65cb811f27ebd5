#!/usr/bin/env node
// Launcher: registers tsx's loader and runs the TypeScript CLI in this process, so `npm install` alone
// leaves a working `autointerp` command (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
