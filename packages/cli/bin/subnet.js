#!/usr/bin/env node
// Entry shim: the compiled CLI lives in dist/ (built by `npm ci` through the root `prepare` script).
import '../dist/src/bin.js';
