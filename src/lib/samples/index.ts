/**
 * Sample documents written for Précis: fictional people, places and figures, on several topics,
 * each with questions to try. They are the project's own text, under the project's licence, and
 * live here as plain source files (bundled with `?raw`).
 *
 * The short story is written in the simple style of the stories260K test model's training data,
 * so the reference engine's compressions of it read like its own stories.
 */
import clinicLetter from './clinic-letter.txt?raw';
import fieldReport from './field-report.txt?raw';
import meetingNote from './meeting-note.txt?raw';
import shortStory from './short-story.txt?raw';

export interface SampleDocument {
  /** Stable id of the sample (not the library id, which is made when it is added). */
  id: string;
  title: string;
  topic: string;
  text: string;
  questions: string[];
}

export const SAMPLES: SampleDocument[] = [
  {
    id: 'short-story',
    title: 'Sample: The Red Kite (short story)',
    topic: 'story',
    text: shortStory,
    questions: ['Who helped get the kite down?', 'What happened to the kite?', 'Who is in the story?'],
  },
  {
    id: 'clinic-letter',
    title: 'Sample: Referral letter from a family clinic',
    topic: 'medicine',
    text: clinicLetter,
    questions: [
      'Which new medicines were started, and at what doses?',
      'What did the ECG show, and how does it compare with last year?',
      'What does the patient want to know about driving?',
    ],
  },
  {
    id: 'field-report',
    title: 'Sample: Field report from a water survey',
    topic: 'fieldwork',
    text: fieldReport,
    questions: [
      'Which site had high nitrate, and what might explain it?',
      'Why were three sites not sampled?',
      'Which measurements are doubtful, and why?',
    ],
  },
  {
    id: 'meeting-note',
    title: 'Sample: Library renovation committee meeting',
    topic: 'meeting',
    text: meetingNote,
    questions: [
      'What was decided about the roof, and what will it cost?',
      'Who has to do what before the next meeting?',
      'What is the condition for receiving the town grant?',
    ],
  },
];

/** The sample the first run uses: the story suits every engine, including the stories260K model. */
export const FIRST_SAMPLE_ID = 'short-story';

/** Suggested questions for a library document added from the samples (matched by its title). */
export function questionsFor(doc: { title: string; sample?: boolean }): string[] {
  if (!doc.sample) return [];
  return SAMPLES.find((s) => s.title === doc.title)?.questions ?? [];
}
