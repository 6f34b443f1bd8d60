// Marks dist/ as built from the current sources (bin/millwright.js compares against it).
import { mkdirSync, writeFileSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
writeFileSync('dist/.build-stamp', `${new Date().toISOString()}\n`);
