// The small trend line on an overview card: an inline SVG polyline over a
// fixed time window, so the line drifts left as time passes and a silent
// device visibly stops short of the right edge.

import { formatValue } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 100;
const HEIGHT = 30;
/** Keeps the stroke off the top and bottom edges. */
const PAD = 3;

/**
 * Draws `points` ([ts, value], oldest first) into `host`, creating the SVG on
 * first use. The viewBox is stretched to the box (preserveAspectRatio none)
 * and the stroke is non-scaling, so any card width works without measuring.
 * @param {Element} host
 * @param {Array<[number, number]>} points
 * @param {{from: number, to: number}} window
 */
export function renderSparkline(host, points, { from, to }) {
  const svg = /** @type {SVGSVGElement} */ (host.querySelector("svg.sparkline") ?? host.appendChild(createSvg()));
  const line = svg.querySelector("polyline");
  svg.dataset.points = String(points.length);
  if (points.length === 0) {
    line.setAttribute("points", "");
    svg.setAttribute("aria-label", "No readings in the last hour");
    return;
  }
  const values = points.map(([, value]) => value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const x = (ts) => ((ts - from) / (to - from)) * WIDTH;
  // A flat series sits in the middle rather than on an edge.
  const y = (value) => (max === min ? HEIGHT / 2 : PAD + (1 - (value - min) / (max - min)) * (HEIGHT - 2 * PAD));
  const coords = points.map(([ts, value]) => `${x(ts).toFixed(2)},${y(value).toFixed(2)}`);
  // One point alone would draw nothing: give it a short stub.
  if (coords.length === 1) coords.unshift(`${Math.max(0, x(points[0][0]) - 2).toFixed(2)},${y(points[0][1]).toFixed(2)}`);
  line.setAttribute("points", coords.join(" "));
  svg.setAttribute("aria-label", `Last hour: from ${formatValue(min)} to ${formatValue(max)}`);
}

function createSvg() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.append(document.createElementNS(SVG, "polyline"));
  return svg;
}
