/**
 * Seeded generators of the sample evaluation sets (written for Précis; nothing is copied from a
 * dataset). Same seed, same items, on every platform (uniformRng is 32-bit integer math).
 *
 * - patients: short fictional patient records (admission, diagnosis, medication, a lab value,
 *   a procedure, follow-up) with five-option multiple-choice questions in the style of
 *   LongHealth, three questions per record (so items share contexts).
 * - harbour: a harbour master's log of fictional vessel arrivals, with short free-text answers
 *   for the exact-match judge, two questions per entry.
 *
 * Records are kept short (about 300–450 characters) so that the fixture model stories260K, with
 * its 512-token window, can compress them; the schema is the same for longer sets.
 */
import { uniformRng } from '../rng';
import type { EvalItem } from './eval-items';

type Rng = () => number;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Five options: the right one and four others from the pool, shuffled; answer is its letter. */
function choice(rng: Rng, right: string, pool: readonly string[]): { options: string[]; answer: string } {
  const others = shuffle(rng, pool.filter((x) => x !== right)).slice(0, 4);
  const options = shuffle(rng, [right, ...others]);
  return { options, answer: 'ABCDE'[options.indexOf(right)] };
}

const FIRST = ['Alma', 'Bruno', 'Cecile', 'Dario', 'Edda', 'Fenna', 'Goran', 'Hilde', 'Ivo', 'Jana', 'Kasimir', 'Lotte', 'Milan', 'Nora', 'Oskar', 'Petra'];
const LAST = ['Varga', 'Lindqvist', 'Okafor', 'Brandt', 'Moreau', 'Castell', 'Ibsen', 'Kowal', 'Teodor', 'Haldane', 'Quist', 'Rasmus'];
const DIAGNOSES = ['community-acquired pneumonia', 'acute pancreatitis', 'atrial fibrillation', 'diabetic ketoacidosis', 'pyelonephritis', 'heart failure with reduced ejection fraction', 'deep vein thrombosis', 'COPD exacerbation'];
const DRUGS = ['amoxicillin', 'apixaban', 'metoprolol', 'insulin glargine', 'ceftriaxone', 'furosemide', 'prednisolone', 'bisoprolol', 'ramipril', 'enoxaparin'];
const LABS: [string, string, string[]][] = [
  ['CRP', 'mg/L', ['48', '112', '187', '23', '265', '9']],
  ['creatinine', 'µmol/L', ['94', '131', '176', '210', '68', '152']],
  ['haemoglobin', 'g/dL', ['9.4', '11.2', '13.1', '8.1', '10.6', '12.5']],
];
const PROCEDURES = ['chest X-ray', 'abdominal ultrasound', 'CT angiography', 'echocardiography', 'compression ultrasound', 'lumbar puncture'];
const WARDS = ['medical ward 3', 'the cardiology unit', 'the intensive care unit', 'ward 5B', 'the short-stay unit'];

export function patientItems(seed = 11, records = 8): EvalItem[] {
  const rng = uniformRng(seed);
  const items: EvalItem[] = [];
  const used = new Set<string>();
  for (let r = 0; r < records; r++) {
    let name = '';
    do name = `${pick(rng, FIRST)} ${pick(rng, LAST)}`;
    while (used.has(name));
    used.add(name);
    const age = 34 + Math.floor(rng() * 55);
    const day = 1 + Math.floor(rng() * 27);
    const month = pick(rng, ['March', 'April', 'May', 'June', 'September', 'October']);
    const diagnosis = pick(rng, DIAGNOSES);
    const drug = pick(rng, DRUGS);
    const [lab, unit, values] = pick(rng, LABS);
    const value = pick(rng, values);
    const procedure = pick(rng, PROCEDURES);
    const ward = pick(rng, WARDS);
    const weeks = 2 + Math.floor(rng() * 5);
    const context =
      `Patient ${name}, ${age} years, was admitted to ${ward} on ${day} ${month}. ` +
      `Working diagnosis: ${diagnosis}. A ${procedure} was performed on the second day. ` +
      `The ${lab} on admission was ${value} ${unit}. ` +
      `Treatment was started with ${drug}, continued at discharge. ` +
      `Follow-up in clinic after ${weeks} weeks.`;
    const q1 = choice(rng, drug, DRUGS);
    const q2 = choice(rng, diagnosis, DIAGNOSES);
    const q3 = choice(rng, `${value} ${unit}`, values.map((v) => `${v} ${unit}`));
    items.push(
      { context, question: `Which medication was ${name} discharged on?`, ...q1 },
      { context, question: `What was the working diagnosis of ${name}?`, ...q2 },
      { context, question: `What was ${name}'s ${lab} on admission?`, ...q3 },
    );
  }
  return items;
}

const VESSELS = ['Northern Tern', 'Grey Heron', 'Morning Star', 'Kestrel', 'Saltmarsh', 'Amber Gale', 'Lantern Bay', 'Iron Gull', 'Quiet Water', 'Red Osprey'];
const CARGO = ['timber', 'grain', 'salt', 'steel coils', 'fish meal', 'cement', 'wool bales', 'paper rolls'];
const PORTS = ['Skellan', 'Marrow Point', 'Oster', 'Vell', 'Carrick Sound', 'Dunmere'];

export function harbourItems(seed = 23, entries = 8): EvalItem[] {
  const rng = uniformRng(seed);
  const items: EvalItem[] = [];
  const vessels = shuffle(rng, VESSELS);
  for (let e = 0; e < entries; e++) {
    const vessel = vessels[e % vessels.length];
    const berth = 1 + Math.floor(rng() * 9);
    const cargo = pick(rng, CARGO);
    const from = pick(rng, PORTS);
    const hour = String(5 + Math.floor(rng() * 14)).padStart(2, '0');
    const crew = 6 + Math.floor(rng() * 20);
    const context =
      `Harbour log. The ${vessel} came in from ${from} at ${hour}:00 and tied up at berth ${berth}. ` +
      `She carried ${cargo}. Crew of ${crew}. The pilot reported calm water in the channel. ` +
      `Unloading was to start the next morning.`;
    items.push(
      { context, question: `What cargo did the ${vessel} carry?`, answer: cargo },
      { context, question: `Which port did the ${vessel} come from?`, answer: from },
    );
  }
  return items;
}

export function toJsonl(items: readonly EvalItem[]): string {
  return items.map((i) => JSON.stringify(i)).join('\n') + '\n';
}
