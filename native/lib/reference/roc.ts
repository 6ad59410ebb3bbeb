/**
 * ROC curve of scores with binary labels (1 = positive; at least one of each), "positive when
 * score >= threshold". The curve starts at (0, 0) with threshold +Infinity and has one point per
 * distinct score, descending. AUC is the trapezoid area under it. tprAt[t] interpolates the curve
 * linearly at FPR fprTargets[t]; where the curve is vertical there, it takes the highest TPR.
 */
export function roc(scores: ArrayLike<number>, labels: ArrayLike<number>, fprTargets: ArrayLike<number>): { auc: number; tprAt: Float64Array; fpr: Float64Array; tpr: Float64Array; thresholds: Float64Array } {
  const n = scores.length;
  const positives = Array.from(labels).filter((l) => l !== 0).length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('roc: need at least one positive and one negative');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r];
    if (labels[i] !== 0) tp++;
    else fp++;
    if (r + 1 < n && scores[order[r + 1]] === scores[i]) continue; // ties form one point
    fpr.push(fp / negatives);
    tpr.push(tp / positives);
    thresholds.push(scores[i]);
  }
  let auc = 0;
  for (let p = 1; p < fpr.length; p++) auc += ((fpr[p] - fpr[p - 1]) * (tpr[p] + tpr[p - 1])) / 2;
  const tprAt = Float64Array.from(fprTargets, (target) => {
    const f = Math.min(1, Math.max(0, target));
    // The last point with FPR <= f: on a vertical run at f it is the highest one.
    let p = 0;
    while (p + 1 < fpr.length && fpr[p + 1] <= f) p++;
    if (fpr[p] === f || p + 1 === fpr.length) return tpr[p];
    return tpr[p] + ((f - fpr[p]) / (fpr[p + 1] - fpr[p])) * (tpr[p + 1] - tpr[p]);
  });
  return { auc, tprAt, fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr), thresholds: Float64Array.from(thresholds) };
}
