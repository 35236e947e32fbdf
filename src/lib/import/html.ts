/**
 * Text from HTML, in one linear pass over htmlparser2's tokenizer. It needs no DOM, so it runs
 * in the import worker (workers have no `DOMParser`), and no step of it can take more than
 * linear time: no tree is built (100,000 nested elements cost the same as 100,000 adjacent
 * ones), and whitespace is collapsed while the text is written, not by regular expressions
 * over the whole result (the old ones backtracked quadratically over a long run of spaces).
 *
 * What it keeps: the text a browser would show, with scripts, styles and other non-text
 * elements dropped (their content too), block elements turned into line or paragraph breaks,
 * table cells separated by tabs, whitespace collapsed as a browser renders it, and kept inside
 * <pre>. The page's <title> becomes the title. Scripts never run: nothing is executed or
 * fetched, the tokenizer only reads characters.
 *
 * Tree building is simplified: an end tag closes the innermost open element of its name (or
 * is ignored when none is open), an unclosed <head> ends at the first body content, and an
 * element that breaks out of <svg>/<math> closes it, as browsers do. Breaks are written at
 * both edges of a block whatever its nesting, so a page with unclosed <p> or <li> gives the
 * same text as a well-formed one.
 */
import { Tokenizer } from 'htmlparser2';

/** Elements whose content is not text a reader sees. */
const DROP = new Set([
  'script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'svg', 'math', 'canvas', 'head',
  'button', 'select', 'input', 'textarea', 'title', 'noembed', 'noframes',
]);
const PARAGRAPH = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'section', 'article', 'header', 'footer', 'nav',
  'main', 'aside', 'figure', 'table', 'ul', 'ol', 'dl', 'form', 'address', 'hr', 'details', 'listing', 'xmp', 'plaintext',
]);
const LINE = new Set(['div', 'li', 'tr', 'dt', 'dd', 'figcaption', 'caption', 'summary', 'br']);
const CELL = new Set(['td', 'th']);
const PRE = new Set(['pre', 'listing', 'xmp', 'plaintext']);
/** Void elements never hold content and have no end tag. */
const VOID = new Set([
  'area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen',
  'link', 'meta', 'param', 'source', 'track', 'wbr',
]);
/** What may sit in <head>; anything else starts the body. */
const HEAD_CONTENT = new Set(['title', 'meta', 'link', 'style', 'script', 'base', 'noscript', 'template', 'head', 'html']);
/** Start tags that end foreign content (<svg>, <math>) in a browser. */
const BREAKOUT = new Set([
  'b', 'big', 'blockquote', 'body', 'br', 'center', 'code', 'dd', 'div', 'dl', 'dt', 'em', 'embed', 'h1', 'h2', 'h3',
  'h4', 'h5', 'h6', 'head', 'hr', 'i', 'img', 'li', 'listing', 'menu', 'meta', 'nobr', 'ol', 'p', 'pre', 'ruby', 's',
  'small', 'span', 'strong', 'strike', 'sub', 'sup', 'table', 'tt', 'u', 'ul', 'var',
]);

export interface HtmlText {
  title: string;
  text: string;
}

const isHtmlSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;

/**
 * Writes the visible text: collapsible whitespace becomes at most one pending space, breaks are
 * pending until the next text (the strongest wins, none at the start or end), and text inside
 * <pre> keeps its spaces and line breaks except trailing spaces and more than one blank line.
 */
class TextWriter {
  private readonly parts: string[] = [];
  private hasText = false;
  private atLineStart = true;
  /** Newlines owed before the next text: 1 a line break, 2 a blank line. */
  private pendingBreak = 0;
  private pendingSpace = '';

  brk(newlines: 1 | 2): void {
    if (this.hasText && newlines > this.pendingBreak) this.pendingBreak = newlines;
    this.pendingSpace = '';
  }

  /** A separator between table cells on one line. */
  cell(): void {
    if (this.hasText && this.pendingBreak === 0 && !this.atLineStart) this.pendingSpace = '\t';
  }

  /** Text outside <pre>: runs of HTML whitespace collapse to one space. */
  collapsed(text: string): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (isHtmlSpace(text.charCodeAt(i))) {
        while (i < n && isHtmlSpace(text.charCodeAt(i))) i++;
        if (this.pendingSpace === '') this.pendingSpace = ' ';
        continue;
      }
      let j = i + 1;
      while (j < n && !isHtmlSpace(text.charCodeAt(j))) j++;
      this.word(text.slice(i, j));
      i = j;
    }
  }

  /** Text inside <pre>: kept as written, line by line. */
  preformatted(text: string): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      let nl = text.indexOf('\n', i);
      if (nl === -1) nl = n;
      // The line's content up to its last non-space character; trailing spaces wait for more text.
      let end = nl;
      while (end > i && isHtmlSpace(text.charCodeAt(end - 1))) end--;
      if (end > i) {
        this.word(text.slice(i, end), true);
        this.pendingSpace = text.slice(end, nl);
      } else if (nl > i) {
        this.pendingSpace += text.slice(i, nl);
      }
      if (nl < n) this.hardNewline();
      i = nl + 1;
    }
  }

  private hardNewline(): void {
    if (this.hasText && this.pendingBreak < 2) this.pendingBreak++;
    this.pendingSpace = '';
  }

  private word(w: string, keepLeading = false): void {
    if (this.pendingBreak > 0) {
      this.parts.push(this.pendingBreak === 2 ? '\n\n' : '\n');
      this.pendingBreak = 0;
      this.atLineStart = true;
      if (!keepLeading) this.pendingSpace = '';
    }
    // Leading whitespace of the whole text is dropped, as the stored text is trimmed.
    if (!this.hasText && keepLeading) {
      let k = 0;
      while (k < w.length && isHtmlSpace(w.charCodeAt(k))) k++;
      w = w.slice(k);
      this.pendingSpace = '';
    }
    if (this.pendingSpace !== '' && (!this.atLineStart || keepLeading)) this.parts.push(this.pendingSpace);
    this.pendingSpace = '';
    this.parts.push(w);
    this.hasText = true;
    this.atLineStart = false;
  }

  toString(): string {
    return this.parts.join('');
  }
}

interface Open {
  name: string;
}

export function htmlToText(html: string): HtmlText {
  const out = new TextWriter();
  const titleParts: string[] = [];
  const stack: Open[] = [];
  /** Open elements per name, so an end tag with no open element is ignored in O(1). */
  const openCount = new Map<string, number>();
  let dropDepth = 0;
  let preDepth = 0;
  let titleDepth = 0;
  let foreignDepth = 0;
  let skipNewline = false;
  let tagName = '';

  const count = (name: string) => openCount.get(name) ?? 0;
  const blockBreak = (name: string) => {
    if (dropDepth > 0) return;
    if (PARAGRAPH.has(name)) out.brk(2);
    else if (LINE.has(name)) out.brk(1);
    else if (CELL.has(name)) out.cell();
  };
  const pop = (): void => {
    const el = stack.pop()!;
    openCount.set(el.name, count(el.name) - 1);
    if (DROP.has(el.name)) dropDepth--;
    if (PRE.has(el.name)) preDepth--;
    if (el.name === 'title') titleDepth--;
    if (el.name === 'svg' || el.name === 'math') foreignDepth--;
    blockBreak(el.name);
  };
  /** Close the innermost open `name` and everything opened inside it. */
  const closeThrough = (name: string): void => {
    if (count(name) === 0) return;
    for (;;) {
      const top = stack[stack.length - 1].name;
      pop();
      if (top === name) return;
    }
  };
  const leaveHead = () => {
    if (count('head') > 0) closeThrough('head');
  };
  const text = (t: string) => {
    if (t === '') return;
    if (titleDepth > 0) {
      titleParts.push(t);
      return;
    }
    if (count('head') > 0 && dropDepth === count('head')) {
      // Text in <head> outside its elements: whitespace stays there, anything else starts the body.
      let k = 0;
      while (k < t.length && isHtmlSpace(t.charCodeAt(k))) k++;
      if (k === t.length) return;
      leaveHead();
    }
    if (dropDepth > 0) return;
    if (preDepth > 0) {
      if (skipNewline && t[0] === '\n') t = t.slice(1);
      skipNewline = false;
      out.preformatted(t);
    } else {
      skipNewline = false;
      out.collapsed(t);
    }
  };
  const open = (name: string, selfClosing: boolean) => {
    if (count('head') > 0 && !HEAD_CONTENT.has(name)) leaveHead();
    if (foreignDepth > 0 && BREAKOUT.has(name)) {
      while (foreignDepth > 0) closeThrough(stack.findLast((e) => e.name === 'svg' || e.name === 'math')!.name);
    }
    if (name === 'br') {
      if (dropDepth === 0) out.brk(1);
      return;
    }
    blockBreak(name);
    // In HTML a trailing slash means nothing except in <svg>/<math>, where it closes the element.
    if (VOID.has(name) || (selfClosing && foreignDepth > 0)) {
      blockBreak(name);
      return;
    }
    stack.push({ name });
    openCount.set(name, count(name) + 1);
    if (DROP.has(name)) dropDepth++;
    if (PRE.has(name)) {
      preDepth++;
      skipNewline = true;
    }
    if (name === 'title') titleDepth++;
    if (name === 'svg' || name === 'math') foreignDepth++;
  };

  let buffer = html;
  const slice = (start: number, end: number) => buffer.slice(start, end);
  const tokenizer = new Tokenizer(
    { decodeEntities: true },
    {
      ontext: (start, end) => text(slice(start, end)),
      ontextentity: (cp) => text(String.fromCodePoint(cp)),
      onopentagname: (start, end) => {
        tagName = slice(start, end).toLowerCase();
      },
      onopentagend: () => open(tagName, false),
      onselfclosingtag: () => open(tagName, true),
      onclosetag: (start, end) => {
        const name = slice(start, end).toLowerCase();
        if (name === 'br') {
          if (dropDepth === 0) out.brk(1);
          return;
        }
        // A stray </p> makes an empty paragraph in a browser: a paragraph break.
        if (name === 'p' && count('p') === 0) {
          if (dropDepth === 0) out.brk(2);
          return;
        }
        if (!VOID.has(name)) closeThrough(name);
      },
      onattribname: () => undefined,
      onattribdata: () => undefined,
      onattribentity: () => undefined,
      onattribend: () => undefined,
      oncdata: (start, end, offset) => {
        if (foreignDepth > 0) text(slice(start, end - offset));
      },
      oncomment: () => undefined,
      ondeclaration: () => undefined,
      onprocessinginstruction: () => undefined,
      onend: () => undefined,
      isInForeignContext: () => foreignDepth > 0,
    },
  );
  tokenizer.write(buffer);
  tokenizer.end();
  buffer = '';
  return { title: titleParts.join('').replace(/\s+/g, ' ').trim(), text: out.toString() };
}
