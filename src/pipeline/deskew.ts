import { type RawImage, sharpOf, toRaw } from './raw-image.js';

/**
 * Skew and quarter-turn estimation by projection profiles, after Leptonica's `skew.c`: shear the dark pixels of a
 * reduced, binarized copy by a trial angle, count them per row, and score the angle by the differential square sum
 * Σ (row[i] − row[i−1])². Text lines aligned with the rows give sharp profile edges and the highest score.
 * The search runs coarse-to-fine over ±maxAngle, on the page and on the page turned a quarter, which also tells
 * whether the text runs across or down the page.
 */

/** Dark pixels of the analysis copy, as coordinates. */
type DarkPixels = { xs: Int32Array; ys: Int32Array; width: number; height: number };

export type LayoutAnalysis = {
  blank: boolean;
  /** Share of dark pixels on the analysis copy (0–1). */
  darkFraction: number;
  /** 90 when the text lines run down the page (the page must turn a quarter clockwise); else 0. */
  quarterTurn: 0 | 90;
  /** Clockwise skew of the text lines after the quarter turn, in degrees; 0 when not confident. */
  skewDeg: number;
  /** Median distance between text lines in full-resolution pixels; undefined when not measurable. */
  linePitch: number | undefined;
  /** False for pages with too little text (photos, blank backs): they are not rotated. */
  confident: boolean;
  /** Peak score over the median score: how distinct the best angle is. */
  peakRatio: number;
  /** The analysis copy itself, for the orientation stage that follows. */
  analysis: RawImage;
};

const ANALYSIS_SIZE = 1280;
const BORDER_SHARE = 0.02;
const BLANK_DARK_FRACTION = 0.0015;
const MIN_CONTRAST = 60;
const MIN_PEAK_RATIO = 1.5;
/** Pages that are mostly dark are photos or filled forms where line projection means nothing. */
const MAX_TEXT_DARK_FRACTION = 0.35;

/** Otsu's threshold over a 256-bin histogram; also returns the class means, to reject low-contrast (blank) pages. */
export function otsu(histogram: Uint32Array): { threshold: number; darkMean: number; lightMean: number } {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    total += histogram[i]!;
    sum += i * histogram[i]!;
  }
  let darkCount = 0;
  let darkSum = 0;
  let best = { threshold: 127, variance: -1, darkMean: 0, lightMean: 255 };
  for (let t = 0; t < 255; t++) {
    darkCount += histogram[t]!;
    darkSum += t * histogram[t]!;
    const lightCount = total - darkCount;
    if (darkCount === 0 || lightCount === 0) continue;
    const darkMean = darkSum / darkCount;
    const lightMean = (sum - darkSum) / lightCount;
    const variance = darkCount * lightCount * (darkMean - lightMean) ** 2;
    if (variance > best.variance) best = { threshold: t, variance, darkMean, lightMean };
  }
  return { threshold: best.threshold, darkMean: best.darkMean, lightMean: best.lightMean };
}

/**
 * Reduces the greyscale page so its shorter side is ANALYSIS_SIZE (area averaging also tames scanner noise). The
 * shorter side, not the width: a portrait page scanned lying down would otherwise get a copy at 0.7× the scale, and
 * OSD, which reads this copy, lost its confidence on such small text.
 */
function analysisCopy(grey: RawImage): Promise<RawImage> {
  return toRaw(
    sharpOf(grey).resize({
      width: ANALYSIS_SIZE,
      height: ANALYSIS_SIZE,
      fit: 'outside',
      withoutEnlargement: true,
      kernel: 'cubic',
    }),
    1,
  );
}

/**
 * The coarse sweep's copy. A text line's peak is as narrow in angle at half the size, so 0.5° steps still land on
 * it, at a quarter of the work. Measured on 48 generated pages (8–14 pt, 200/300 dpi, ±18°, all four turns): skew
 * found exactly as before (mean error 0.0058°, max 0.035°), every direction right, the weakest peak ratio 25.3
 * instead of 16.7 (a page needs 1.5), and the layout stage 15–20 % faster.
 */
function halfSize(analysis: RawImage): Promise<RawImage> {
  return toRaw(sharpOf(analysis).resize({ width: Math.round(analysis.width / 2), kernel: 'linear' }), 1);
}

function darkPixelsOf(image: RawImage): {
  pixels: DarkPixels;
  darkFraction: number;
  contrast: number;
} {
  const { data, width, height } = image;
  const histogram = new Uint32Array(256);
  for (let i = 0; i < data.length; i++) histogram[data[i]!]!++;
  const { threshold, darkMean, lightMean } = otsu(histogram);
  const contrast = lightMean - darkMean;
  // Scanner edges and shadows at the border would dominate the profile; ignore a thin frame.
  const bx = Math.round(width * BORDER_SHARE);
  const by = Math.round(height * BORDER_SHARE);
  let count = 0;
  for (let y = by; y < height - by; y++) {
    for (let x = bx; x < width - bx; x++) if (data[y * width + x]! <= threshold) count++;
  }
  const xs = new Int32Array(count);
  const ys = new Int32Array(count);
  let k = 0;
  for (let y = by; y < height - by; y++) {
    for (let x = bx; x < width - bx; x++) {
      if (data[y * width + x]! <= threshold) {
        xs[k] = x;
        ys[k] = y;
        k++;
      }
    }
  }
  const interior = (width - 2 * bx) * (height - 2 * by);
  return { pixels: { xs, ys, width, height }, darkFraction: count / interior, contrast };
}

/** The same pixels seen after turning the page a quarter clockwise: (x, y) → (height − 1 − y, x). */
function quarterTurned(pixels: DarkPixels): DarkPixels {
  const xs = new Int32Array(pixels.xs.length);
  for (let i = 0; i < xs.length; i++) xs[i] = pixels.height - 1 - pixels.ys[i]!;
  return { xs, ys: pixels.xs, width: pixels.height, height: pixels.width };
}

/** Counts the dark pixels per row once the page is sheared by a trial angle; rows are padded so every pixel fits. */
function profiler(pixels: DarkPixels, maxAngleDeg: number) {
  const { xs, ys, width, height } = pixels;
  const cx = width / 2;
  const pad = Math.ceil(Math.tan((maxAngleDeg * Math.PI) / 180) * cx) + 2;
  const rows = new Int32Array(height + 2 * pad);
  return (angleDeg: number): Int32Array => {
    const tan = Math.tan((angleDeg * Math.PI) / 180);
    rows.fill(0);
    for (let i = 0; i < xs.length; i++) rows[Math.round(ys[i]! - (xs[i]! - cx) * tan) + pad]!++;
    return rows;
  };
}

/** Scores a trial angle by the differential square sum of its row profile. */
function scorer(profile: (angleDeg: number) => Int32Array) {
  return (angleDeg: number): number => {
    const rows = profile(angleDeg);
    let score = 0;
    for (let r = 1; r < rows.length; r++) {
      const d = rows[r]! - rows[r - 1]!;
      score += d * d;
    }
    return score;
  };
}

/**
 * The median distance between neighbouring text lines, from the row profile of the straightened page: rows with at
 * least a tenth of the busiest row's ink form a line, and paragraph gaps are outvoted by the median. Undefined with
 * fewer than four lines.
 */
function medianLinePitch(rows: Int32Array): number | undefined {
  const threshold = Math.max(...rows) / 10;
  const centres: number[] = [];
  let start = -1;
  for (let r = 0; r <= rows.length; r++) {
    const inLine = r < rows.length && rows[r]! >= threshold;
    if (inLine && start < 0) start = r;
    if (!inLine && start >= 0) {
      centres.push((start + r - 1) / 2);
      start = -1;
    }
  }
  if (centres.length < 4) return undefined;
  const pitches = centres.slice(1).map((centre, i) => centre - centres[i]!);
  return pitches.sort((a, b) => a - b)[Math.floor(pitches.length / 2)];
}

/**
 * The coarse sweep over ±maxAngleDeg in 0.5° steps: the best angle, and how far its score stands above the median
 * angle's. (Sweeping a sample of the pixels instead was measured and rejected: thinning the profile raises every
 * angle's score and a real 9.4° scan's peak ratio fell from 42 to 2.3.)
 */
function coarseSkew(pixels: DarkPixels, maxAngleDeg: number): { angleDeg: number; peakRatio: number } {
  if (pixels.xs.length === 0) return { angleDeg: 0, peakRatio: 1 };
  const score = scorer(profiler(pixels, maxAngleDeg + 1));
  const scores: number[] = [];
  let best = { angle: 0, score: -1 };
  for (let angle = -maxAngleDeg; angle <= maxAngleDeg + 1e-9; angle += 0.5) {
    const s = score(angle);
    scores.push(s);
    if (s > best.score) best = { angle, score: s };
  }
  const median = scores.sort((a, b) => a - b)[Math.floor(scores.length / 2)]!;
  return { angleDeg: best.angle, peakRatio: median > 0 ? best.score / median : 1 };
}

/**
 * Refines a coarse angle to about 0.01° with every dark pixel, in two finer sweeps around it, and reads the line
 * pitch off the profile at the final angle.
 */
function refineSkew(
  pixels: DarkPixels,
  coarseDeg: number,
  maxAngleDeg: number,
): { angleDeg: number; linePitch: number | undefined } {
  const profile = profiler(pixels, maxAngleDeg + 1);
  const score = scorer(profile);
  let best = { angle: coarseDeg, score: score(coarseDeg) };
  for (const [span, step] of [
    [0.5, 0.05],
    [0.05, 0.005],
  ] as const) {
    const center = best.angle;
    for (let angle = center - span; angle <= center + span + 1e-9; angle += step) {
      const s = score(angle);
      if (s > best.score) best = { angle, score: s };
    }
  }
  const angleDeg = Math.round(best.angle * 1000) / 1000;
  return { angleDeg, linePitch: medianLinePitch(profile(angleDeg)) };
}

/** Decides blank / too little text, whether the text runs across or down the page, and its skew. */
export async function analyzeLayout(grey: RawImage, maxAngleDeg = 20): Promise<LayoutAnalysis> {
  const analysis = await analysisCopy(grey);
  const { pixels, darkFraction, contrast } = darkPixelsOf(analysis);
  const blank = darkFraction < BLANK_DARK_FRACTION || contrast < MIN_CONTRAST;
  const none = { quarterTurn: 0 as const, skewDeg: 0, linePitch: undefined, confident: false };
  if (blank) return { blank, darkFraction, ...none, peakRatio: 1, analysis };
  if (darkFraction > MAX_TEXT_DARK_FRACTION) return { blank, darkFraction, ...none, peakRatio: 1, analysis };

  // The coarse sweeps in both directions read a half-size copy; only the winning direction is refined, with every
  // pixel of the analysis copy.
  const reduced = darkPixelsOf(await halfSize(analysis)).pixels;
  const across = coarseSkew(reduced, maxAngleDeg);
  const down = coarseSkew(quarterTurned(reduced), maxAngleDeg);
  const useDown = down.peakRatio > across.peakRatio;
  const chosen = useDown ? down : across;
  const confident = chosen.peakRatio >= MIN_PEAK_RATIO;
  const refined = confident
    ? refineSkew(useDown ? quarterTurned(pixels) : pixels, chosen.angleDeg, maxAngleDeg)
    : undefined;
  return {
    blank,
    darkFraction,
    quarterTurn: confident && useDown ? 90 : 0,
    skewDeg: refined?.angleDeg ?? 0,
    linePitch:
      refined?.linePitch === undefined ? undefined : (refined.linePitch * grey.width) / analysis.width,
    confident,
    peakRatio: chosen.peakRatio,
    analysis,
  };
}
