// Song & Mittal (2021) metric-threshold attacks: a threshold on a per-sample score, chosen on the
// shadow model's members and non-members, either one for all samples or one per class
// (`_thre_setting` in their membership_inference_attacks.py; mia_calibration.md §2.2).

export interface Thresholds {
  global: number;
  /**
   * NaN where the shadow data holds no member or no non-member of that class (balanced accuracy
   * is undefined there): the global threshold applies.
   */
  perClass: Float64Array;
}

/**
 * The observed value v maximising ½(frac(members ≥ v) + frac(non-members < v)) over `order`
 * (indices sorted by ascending score); ties → smallest v. NaN when either side is empty.
 */
function bestThreshold(scores: Float64Array, isMember: Uint8Array, order: ArrayLike<number>): number {
  let members = 0;
  for (let j = 0; j < order.length; j++) members += isMember[order[j]] ? 1 : 0;
  const nonMembers = order.length - members;
  if (members === 0 || nonMembers === 0) return NaN;
  // Compare members·nonMembers times the objective in integers: float sums could break exact ties.
  let best = -1;
  let threshold = NaN;
  let membersBelow = 0;
  let nonMembersBelow = 0;
  for (let j = 0; j < order.length; ) {
    const v = scores[order[j]];
    const objective = (members - membersBelow) * nonMembers + nonMembersBelow * members;
    if (objective > best) {
      best = objective;
      threshold = v;
    }
    for (; j < order.length && scores[order[j]] === v; j++) {
      if (isMember[order[j]]) membersBelow++;
      else nonMembersBelow++;
    }
  }
  return threshold;
}

/**
 * For each class (and globally) the observed shadow score v maximising
 * ½(frac(members ≥ v) + frac(non-members < v)); ties → smallest v. One sort: O(n log n).
 */
export function fitThresholds(scores: Float64Array, labels: Int32Array, isMember: Uint8Array, classes: number): Thresholds {
  const n = scores.length;
  if (labels.length !== n || isMember.length !== n) throw new RangeError(`scores (${n}), labels (${labels.length}) and isMember (${isMember.length}) must have one entry per sample`);
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`classes must be a positive integer, got ${classes}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`score ${scores[i]} at index ${i} is not finite: drop that sample first`);
    if (labels[i] < 0 || labels[i] >= classes) throw new RangeError(`label ${labels[i]} at index ${i} is outside [0, ${classes})`);
  }
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const global = bestThreshold(scores, isMember, order);
  if (Number.isNaN(global)) throw new RangeError('the shadow data needs at least one member and one non-member');

  // Bucket the sorted order by class: each bucket stays sorted.
  const start = new Int32Array(classes + 1);
  for (let i = 0; i < n; i++) start[labels[i] + 1]++;
  for (let c = 0; c < classes; c++) start[c + 1] += start[c];
  const byClass = new Int32Array(n);
  const fill = start.slice(0, classes);
  for (const i of order) byClass[fill[labels[i]]++] = i;
  const perClass = Float64Array.from({ length: classes }, (_, c) => bestThreshold(scores, isMember, byClass.subarray(start[c], start[c + 1])));
  return { global, perClass };
}

/**
 * score − τ, with τ the sample's class threshold ('class', where not NaN) or the global one:
 * ≥ 0 means 'member'. As a ranking it sweeps one offset over every class's threshold at once,
 * so its ROC passes through the class-dependent rule's operating point at 0.
 */
export function thresholdedScores(scores: Float64Array, labels: Int32Array, thresholds: Thresholds, mode: 'global' | 'class'): Float64Array {
  if (labels.length !== scores.length) throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) must have one entry per sample`);
  if (mode !== 'global' && mode !== 'class') throw new RangeError(`unknown mode '${mode}': use 'global' or 'class'`);
  const classes = thresholds.perClass.length;
  return scores.map((s, i) => {
    const c = labels[i];
    if (c < 0 || c >= classes) throw new RangeError(`label ${c} at index ${i} is outside [0, ${classes})`);
    const own = thresholds.perClass[c];
    return s - (mode === 'class' && !Number.isNaN(own) ? own : thresholds.global);
  });
}
