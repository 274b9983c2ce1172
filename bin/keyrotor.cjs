#!/usr/bin/env node
// Entry for `npx keyrotor`: runs the TypeScript CLI through tsx's require hook.
require('tsx/cjs/api').register();
require('./keyrotor.ts');
