/**
 * Text from HTML: parsed with `DOMParser` (which never runs scripts), with scripts, styles and
 * other non-text elements dropped, block elements turned into line or paragraph breaks, and
 * whitespace collapsed as a browser would render it (kept inside <pre>).
 */

const DROP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'CANVAS', 'HEAD', 'BUTTON', 'SELECT', 'INPUT', 'TEXTAREA']);
const PARAGRAPH = new Set([
  'P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE', 'PRE', 'SECTION', 'ARTICLE', 'HEADER', 'FOOTER', 'NAV',
  'MAIN', 'ASIDE', 'FIGURE', 'TABLE', 'UL', 'OL', 'DL', 'FORM', 'ADDRESS', 'HR', 'DETAILS',
]);
const LINE = new Set(['DIV', 'LI', 'TR', 'DT', 'DD', 'FIGCAPTION', 'CAPTION', 'SUMMARY', 'BR']);
const CELL = new Set(['TD', 'TH']);

const LINE_MARK = '\u0001';
const PARA_MARK = '\u0002';

export interface HtmlText {
  title: string;
  text: string;
}

export function htmlToText(html: string): HtmlText {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const title = doc.querySelector('title')?.textContent?.trim() ?? '';
  const out: string[] = [];
  const walk = (node: Node, pre: boolean): void => {
    if (node.nodeType === 3) {
      const t = node.nodeValue ?? '';
      out.push(pre ? t : t.replace(/\s+/g, ' '));
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = (node as Element).tagName.toUpperCase();
    if (DROP.has(tag)) return;
    if (tag === 'BR') {
      out.push(LINE_MARK);
      return;
    }
    const brk = PARAGRAPH.has(tag) ? PARA_MARK : LINE.has(tag) ? LINE_MARK : CELL.has(tag) ? '\t' : '';
    if (brk) out.push(brk);
    const inPre = pre || tag === 'PRE' || tag === 'TEXTAREA';
    for (let c = node.firstChild; c; c = c.nextSibling) walk(c, inPre);
    if (brk) out.push(brk);
  };
  walk(doc.body ?? doc.documentElement, false);
  // Adjacent breaks merge into the strongest one (a list of <li> is one line each, not two).
  const text = out
    .join('')
    .replace(/[ \t\n]*(?:[\u0001\u0002][ \t\n]*)*[\u0001\u0002]/g, (m) => (m.includes(PARA_MARK) ? '\n\n' : '\n'))
    // Collapsed whitespace leaves single spaces at line edges and doubled ones between text
    // nodes; indentation inside <pre> (two or more spaces at a line start) survives.
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n (?! )/g, '\n')
    .replace(/([^\n ]) {2,}/g, '$1 ')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title, text };
}
