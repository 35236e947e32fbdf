/**
 * The sweep's plots, drawn with Observable Plot (SVG), plus their downloads (SVG, PNG, CSV) and
 * the self-contained HTML report. Plot puts a <style> element in each SVG; the page's CSP
 * allows no inline style elements, so it is taken out before the SVG is shown (its rules live in
 * app.css) and put back only in downloaded files.
 */
import * as Plot from '@observablehq/plot';
import Papa from 'papaparse';
import { distortionAt } from './core/sweep/stats';
import type { SweepOutput } from './core/sweep/run-sweep';

export const PLOT_CLASS = 'sweep-plotsvg';
const FILE_STYLE = `.${PLOT_CLASS}{display:block;height:auto;max-width:100%;background:white}.${PLOT_CLASS} text{white-space:pre}`;

export interface ConfigPoint {
  label: string;
  model: string;
  budget: number;
  temperature: number;
  miBits: number;
  miBitsSpread: number;
  bitsPerToken: number;
  meanTokens: number;
  accuracy?: number;
  accuracyLow?: number;
  accuracyHigh?: number;
}

export function pointsOf(out: SweepOutput): ConfigPoint[] {
  return out.configs
    .filter((c) => c.miBitsMean !== undefined)
    .map((c) => ({
      label: `${(c.modelId ?? c.model).replace(/^reference:/, '')} · ${c.budget}${c.budgetUnit === 'sentences' ? ' sent.' : ' tok'} · T ${c.temperature}`,
      model: c.modelId ?? c.model,
      budget: c.budget,
      temperature: c.temperature,
      miBits: c.miBitsMean!,
      miBitsSpread: c.miBitsSpread ?? 0,
      bitsPerToken: c.bitsPerTokenMean!,
      meanTokens: c.meanTokens!,
      accuracy: c.accuracy,
      accuracyLow: c.accuracyLow,
      accuracyHigh: c.accuracyHigh,
    }));
}

export interface PlotSpec {
  id: string;
  title: string;
  svg: SVGSVGElement;
  /** Rows of the plotted data, for the CSV download. */
  rows: Record<string, unknown>[];
}

function finish(node: SVGSVGElement | HTMLElement, id: string): SVGSVGElement {
  const svg = (node instanceof SVGSVGElement ? node : node.querySelector('svg')) as SVGSVGElement;
  for (const s of svg.querySelectorAll('style')) s.remove();
  svg.setAttribute('data-testid', 'sweep-plot');
  svg.setAttribute('data-plot', id);
  return svg;
}

const common = { className: PLOT_CLASS, width: 520, height: 300, marginLeft: 56, marginBottom: 44, grid: true } as const;

/** The plots that the sweep's data allows. Each has one dot per configuration. */
export function buildPlots(out: SweepOutput): PlotSpec[] {
  const pts = pointsOf(out);
  if (pts.length === 0) return [];
  const plots: PlotSpec[] = [];
  const evaluated = pts.filter((p) => p.accuracy !== undefined);
  if (evaluated.length === pts.length) {
    const fit = out.fit;
    const maxR = Math.max(...pts.map((p) => p.miBits), 0.1);
    const curve = fit ? Array.from({ length: 60 }, (_, i) => ({ r: (maxR * 1.1 * i) / 59, acc: 1 - distortionAt(fit, (maxR * 1.1 * i) / 59) })) : [];
    plots.push({
      id: 'accuracy-mi',
      title: fit ? `Accuracy against MI, with the fitted 1 − D(R) (C ${fit.C.toFixed(3)}, b ${fit.b.toFixed(3)}, D0 ${fit.D0.toFixed(3)}, RMSE ${fit.rmse.toFixed(3)})` : 'Accuracy against MI',
      svg: finish(
        Plot.plot({
          ...common,
          x: { label: 'MI (bits, mean over seeds)' },
          y: { label: 'accuracy', domain: [0, 1] },
          color: { legend: false },
          marks: [
            ...(fit ? [Plot.line(curve, { x: 'r', y: 'acc', stroke: 'var(--accent, steelblue)', strokeDasharray: '4 3' })] : []),
            Plot.ruleX(evaluated, { x: 'miBits', y1: 'accuracyLow', y2: 'accuracyHigh', stroke: 'currentColor', strokeOpacity: 0.5 }),
            Plot.dot(evaluated, { x: 'miBits', y: 'accuracy', fill: 'model', r: 4, title: 'label' }),
          ],
        }),
        'accuracy-mi',
      ),
      rows: evaluated.map((p) => ({ ...p })),
    });
    plots.push({
      id: 'accuracy-bits-per-token',
      title: 'Accuracy against bits per token',
      svg: finish(
        Plot.plot({
          ...common,
          x: { label: 'bits per token' },
          y: { label: 'accuracy', domain: [0, 1] },
          marks: [
            Plot.ruleX(evaluated, { x: 'bitsPerToken', y1: 'accuracyLow', y2: 'accuracyHigh', stroke: 'currentColor', strokeOpacity: 0.5 }),
            Plot.dot(evaluated, { x: 'bitsPerToken', y: 'accuracy', fill: 'model', r: 4, title: 'label' }),
          ],
        }),
        'accuracy-bits-per-token',
      ),
      rows: evaluated.map((p) => ({ ...p })),
    });
  }
  plots.push({
    id: 'mi-budget',
    title: 'MI against budget, per model (bars: ± one standard deviation over seeds)',
    svg: finish(
      Plot.plot({
        ...common,
        x: { label: 'budget' },
        y: { label: 'MI (bits)' },
        marks: [
          Plot.line(pts, { x: 'budget', y: 'miBits', stroke: 'model', z: (d: ConfigPoint) => `${d.model}|${d.temperature}` }),
          Plot.ruleX(pts, { x: 'budget', y1: (d: ConfigPoint) => d.miBits - d.miBitsSpread, y2: (d: ConfigPoint) => d.miBits + d.miBitsSpread, stroke: 'model', strokeOpacity: 0.5 }),
          Plot.dot(pts, { x: 'budget', y: 'miBits', fill: 'model', r: 4, title: 'label' }),
        ],
      }),
      'mi-budget',
    ),
    rows: pts.map((p) => ({ ...p })),
  });
  plots.push({
    id: 'tokens-budget',
    title: 'Compression tokens against budget, per model',
    svg: finish(
      Plot.plot({
        ...common,
        x: { label: 'budget' },
        y: { label: 'mean compression tokens' },
        marks: [
          Plot.line(pts, { x: 'budget', y: 'meanTokens', stroke: 'model', z: (d: ConfigPoint) => `${d.model}|${d.temperature}` }),
          Plot.dot(pts, { x: 'budget', y: 'meanTokens', fill: 'model', r: 4, title: 'label' }),
        ],
      }),
      'tokens-budget',
    ),
    rows: pts.map((p) => ({ ...p })),
  });
  return plots;
}

/** The SVG as a standalone file (Plot's style put back, XML namespace set). */
export function svgFileText(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.removeAttribute('data-testid');
  const text = new XMLSerializer().serializeToString(clone);
  return text.replace(/^<svg([^>]*)>/, `<svg$1><style>${FILE_STYLE}</style>`);
}

export function csvText(rows: Record<string, unknown>[]): string {
  return Papa.unparse(rows);
}

export function download(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Draw the plot on a canvas at 2× and return a PNG. The page's CSP allows no blob: or data:
 * image, so the browser cannot rasterise the SVG for us; instead each drawn element of the live
 * SVG (path, line, circle, rect, text: what Plot emits) is painted with its screen transform
 * (getCTM) and its computed fill, stroke, width, opacity and font.
 */
export async function pngOf(svg: SVGSVGElement): Promise<Blob> {
  const w = Number(svg.getAttribute('width')) || 520;
  const h = Number(svg.getAttribute('height')) || 300;
  const scale = 2;
  const canvas = document.createElement('canvas');
  canvas.width = w * scale;
  canvas.height = h * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a canvas.');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const rootBox = svg.viewBox.baseVal;
  const sx = rootBox && rootBox.width ? w / rootBox.width : 1;
  const sy = rootBox && rootBox.height ? h / rootBox.height : 1;
  const paint = (el: SVGGraphicsElement, draw: (c: CanvasRenderingContext2D) => void, path?: Path2D) => {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') return;
    const m = el.getCTM();
    if (!m) return;
    ctx.setTransform(scale * sx * m.a, scale * sy * m.b, scale * sx * m.c, scale * sy * m.d, scale * sx * m.e, scale * sy * m.f);
    const opacity = Number(cs.opacity || 1);
    const fill = cs.fill;
    const stroke = cs.stroke;
    if (fill && fill !== 'none') {
      ctx.globalAlpha = opacity * Number(cs.fillOpacity || 1);
      ctx.fillStyle = fill;
      if (path) ctx.fill(path);
      else {
        ctx.beginPath();
        draw(ctx);
        ctx.fill();
      }
    }
    if (stroke && stroke !== 'none') {
      ctx.globalAlpha = opacity * Number(cs.strokeOpacity || 1);
      ctx.strokeStyle = stroke;
      ctx.lineWidth = parseFloat(cs.strokeWidth) || 1;
      const dash = cs.strokeDasharray && cs.strokeDasharray !== 'none' ? cs.strokeDasharray.split(/[ ,]+/).map(parseFloat).filter(Number.isFinite) : [];
      ctx.setLineDash(dash);
      if (path) ctx.stroke(path);
      else {
        ctx.beginPath();
        draw(ctx);
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    ctx.globalAlpha = 1;
  };
  const num = (el: Element, a: string) => Number(el.getAttribute(a) ?? 0) || 0;
  for (const el of svg.querySelectorAll<SVGGraphicsElement>('path, line, circle, rect, text')) {
    switch (el.tagName.toLowerCase()) {
      case 'path': {
        const d = el.getAttribute('d');
        if (d) paint(el, () => undefined, new Path2D(d));
        break;
      }
      case 'line':
        paint(el, (c) => {
          c.moveTo(num(el, 'x1'), num(el, 'y1'));
          c.lineTo(num(el, 'x2'), num(el, 'y2'));
        });
        break;
      case 'circle':
        paint(el, (c) => c.arc(num(el, 'cx'), num(el, 'cy'), num(el, 'r'), 0, 2 * Math.PI));
        break;
      case 'rect':
        paint(el, (c) => c.rect(num(el, 'x'), num(el, 'y'), num(el, 'width'), num(el, 'height')));
        break;
      case 'text': {
        const cs = getComputedStyle(el);
        const m = el.getCTM();
        const text = el.textContent ?? '';
        if (!m || text === '') break;
        ctx.setTransform(scale * sx * m.a, scale * sy * m.b, scale * sx * m.c, scale * sy * m.d, scale * sx * m.e, scale * sy * m.f);
        const size = parseFloat(cs.fontSize) || 10;
        ctx.font = `${cs.fontWeight} ${size}px ${cs.fontFamily || 'sans-serif'}`;
        const anchor = cs.textAnchor;
        ctx.textAlign = anchor === 'middle' ? 'center' : anchor === 'end' ? 'right' : 'left';
        ctx.textBaseline = 'alphabetic';
        const dyAttr = el.getAttribute('dy') ?? '0';
        const dy = dyAttr.endsWith('em') ? parseFloat(dyAttr) * size : parseFloat(dyAttr) || 0;
        ctx.fillStyle = cs.fill && cs.fill !== 'none' ? cs.fill : '#000';
        ctx.globalAlpha = Number(cs.opacity || 1);
        ctx.fillText(text, num(el, 'x'), num(el, 'y') + dy);
        ctx.globalAlpha = 1;
        break;
      }
    }
  }
  return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('No PNG was made.'))), 'image/png'));
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function num(x: number | undefined, digits = 3): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** A self-contained HTML report: the summary table, the fit, the correlation and every plot. */
export function reportHtml(name: string, out: SweepOutput, plots: PlotSpec[]): string {
  const rows = out.configs
    .map(
      (c) =>
        `<tr><td>${esc(c.modelId ?? c.model)}</td><td>${c.budget} ${c.budgetUnit}</td><td>${c.temperature}</td><td>${num(c.miBitsMean)}</td><td>${num(c.miBitsSpread)}</td><td>${num(c.ceilingBits, 2)}</td><td>${num(c.bitsPerTokenMean, 4)}</td><td>${num(c.meanTokens, 1)}</td><td>${c.accuracy === undefined ? '–' : `${num(c.accuracy)} [${num(c.accuracyLow)}, ${num(c.accuracyHigh)}]`}</td><td>${c.flopsPerCompression === undefined ? '–' : c.flopsPerCompression.toExponential(3)}</td></tr>`,
    )
    .join('\n');
  const fit = out.fit
    ? `<p>D(R) = C·e<sup>−bR</sup> + D0: C = ${num(out.fit.C)}, b = ${num(out.fit.b)}, D0 = ${num(out.fit.D0)}, RMSE = ${num(out.fit.rmse)} (${out.fit.points} configurations).</p>`
    : out.fitNote
      ? `<p>${esc(out.fitNote)}</p>`
      : '';
  const corr = out.correlation ? `<p>Correlation of MI with accuracy: Pearson ${num(out.correlation.pearson ?? undefined)}, Spearman ${num(out.correlation.spearman ?? undefined)}.</p>` : '';
  const figures = plots.map((p) => `<figure><figcaption>${esc(p.title)}</figcaption>${svgFileText(p.svg)}</figure>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(name)} · Précis sweep</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse}td,th{border:1px solid #d8dde2;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}figure{margin:1.5rem 0}</style>
</head><body>
<h1>${esc(name)}</h1>
<p>Status: ${esc(out.status)}. Bank: ${out.bank.passages} passages (ceiling log2 N bits). Scorer: ${esc(out.scorer)}. Template ${esc(out.templateVersion)}.</p>
<table><thead><tr><th>model</th><th>budget</th><th>T</th><th>MI bits</th><th>spread</th><th>ceiling</th><th>bits/token</th><th>tokens</th><th>accuracy [95% Wilson]</th><th>FLOPs/compression</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${fit}
${corr}
<p>${esc(out.flopsFormula)}</p>
${figures}
</body></html>
`;
}
