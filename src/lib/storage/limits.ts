/**
 * Sizes and ranges the app accepts for stored records. Checked when a run starts, when a run is
 * resumed (a record may have been written by an older version, or imported), and field by field
 * when an export file is imported, so a crafted file cannot store what would later break the
 * page or the worker.
 */

/** Contexts in one run's bank: every compression is scored under every one (N² work). */
export const MAX_BANK_PASSAGES = 64;
/** M: compressions sampled per context. */
export const MAX_SAMPLES_PER_CONTEXT = 8;
/** A compression's token budget (no model in the catalog has a larger window). */
export const MAX_COMPRESSION_TOKENS = 32_768;
export const MAX_SENTENCE_BUDGET = 50;
export const MAX_SEED = 2 ** 32 - 1;
export const MAX_TEMPERATURE = 2;

/** One document's text, in UTF-16 code units (the import of a 50 MB file stays well inside). */
export const MAX_DOCUMENT_CHARS = 200_000_000;
/** One bank passage or compression: a passage fits a model's window, with room to spare. */
export const MAX_PASSAGE_CHARS = 2_000_000;
export const MAX_TITLE_CHARS = 2_000;
export const MAX_QUESTION_CHARS = 50_000;
export const MAX_ID_CHARS = 200;
export const MAX_NAME_CHARS = 500;
export const MAX_MESSAGE_CHARS = 20_000_000;
export const MAX_MESSAGES = 200;
export const MAX_EXCHANGES_PER_RUN = 10_000;
export const MAX_DOC_IDS_PER_RUN = 10_000;
export const MAX_WARNINGS = 100;
