/** @module subject/feature-list — parses a feature list argument (`0-15`, `3,7,100-120`, `all`). */

/** Parses a feature list like `0-15`, `3,7,100-120` or `all` against a width. */
export function parseFeatureList(text: string, width: number): number[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const features: number[] = [];
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new RangeError(`bad feature list "${text}": use e.g. 0-15, 3,7,100-120 or all`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new RangeError(`bad feature range "${part.trim()}" (end before start)`);
    if (to >= width)
      throw new RangeError(`feature ${to} is out of range: the hook has ${width} features (0-${width - 1})`);
    for (let feature = from; feature <= to; feature++) features.push(feature);
  }
  return [...new Set(features)];
}
