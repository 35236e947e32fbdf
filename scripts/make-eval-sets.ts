/**
 * Writes the sample evaluation sets to samples/eval/ from the seeded generators in
 * src/lib/core/sweep/sample-sets.ts: `npx tsx scripts/make-eval-sets.ts`. A unit test checks
 * that the committed files equal a fresh generation.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { harbourItems, patientItems, toJsonl } from '../src/lib/core/sweep/sample-sets';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'samples', 'eval');
writeFileSync(path.join(out, 'patients.jsonl'), toJsonl(patientItems()));
writeFileSync(path.join(out, 'harbour.jsonl'), toJsonl(harbourItems()));
process.stdout.write(`wrote ${out}/patients.jsonl and harbour.jsonl\n`);
