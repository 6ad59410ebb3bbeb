// The report's opening list: one sentence per finding, in plain language, with the number that
// supports it. Order: robustness and privacy first (post-processing cannot fix them), calibration
// last (the audit has already fixed it with the temperature it names). Skipped sections make no
// claim: the report shows their reason where the section would be.
import { formatEps, metric, normLabel, percent } from './html.js';
import type { AuditResults, CalibrationSection, MembershipAttackResult, MembershipSection, RobustnessSection } from './schema.js';

/** TPR at 0.1% FPR from which a membership attack is called leakage: ten times the chance rate. */
const LEAKAGE_TPR = 0.01;

/**
 * Plain-language findings from the sections, most important first, e.g.
 * "over-confident: ECE 0.12 → 0.02 with T = 2.30", "robust accuracy 0% at ε = 8/255 (0.0314)",
 * "membership leakage: TPR 14% at 0.1% FPR (SeqMIA)" (the attack with the highest TPR@0.1%; AUC too).
 */
export function summarize(results: Omit<AuditResults, 'summary'>): string[] {
  return [
    ...(results.robustness.status === 'done' ? robustnessFindings(results.robustness) : []),
    ...(results.membership.status === 'done' ? membershipFindings(results.membership) : []),
    ...(results.calibration.status === 'done' ? [calibrationFinding(results.calibration)] : []),
  ];
}

function robustnessFindings(section: RobustnessSection): string[] {
  if (section.curve.length === 0) return [];
  const last = section.curve.reduce((a, b) => (b.eps > a.eps ? b : a));
  const findings = [
    `robust accuracy ${percent(last.robustAccuracy)} at ${normLabel(section.norm)} ε = ${formatEps(last.eps)}, clean ${percent(section.cleanAccuracy)} (${section.suite} suite)`,
  ];
  if (section.warnings.length > 0) {
    const n = section.warnings.length;
    findings.push(`${n} robustness warning${n === 1 ? '' : 's'} (the robust accuracy may be overestimated): ${section.warnings[0]}`);
  }
  return findings;
}

function membershipFindings(section: MembershipSection): string[] {
  const top = topAttack(section.attacks);
  if (top === undefined) return [];
  const tpr = top.tprAtFpr['0.001']!;
  const numbers = `TPR ${percent(tpr)} at 0.1% FPR (${top.attack}), AUC ${top.auc.toFixed(2)}`;
  const findings = [tpr >= LEAKAGE_TPR ? `membership leakage: ${numbers}` : `little membership leakage: best ${numbers}`];
  const calibrated = section.calibrated && topAttack(section.calibrated.attackerAware);
  if (section.calibrated && calibrated) {
    findings.push(
      `after temperature scaling (T = ${section.calibrated.temperature.toFixed(2)}), an attacker aware of it reaches TPR ${percent(calibrated.tprAtFpr['0.001']!)} at 0.1% FPR (${calibrated.attack})`,
    );
  }
  const twin = section.twin && topAttack(section.twin.attacks);
  if (section.twin && twin) findings.push(`twin ${section.twin.model}: TPR ${percent(twin.tprAtFpr['0.001']!)} at 0.1% FPR (${twin.attack}), AUC ${twin.auc.toFixed(2)}`);
  return findings;
}

/** The attack with the highest TPR at 0.1% FPR (ties: higher AUC); attacks without that number are ignored. */
function topAttack(attacks: MembershipAttackResult[]): MembershipAttackResult | undefined {
  const scored = attacks.filter((a) => Number.isFinite(a.tprAtFpr['0.001']));
  return scored.reduce<MembershipAttackResult | undefined>((best, a) => {
    if (best === undefined) return a;
    const d = a.tprAtFpr['0.001']! - best.tprAtFpr['0.001']!;
    return d > 0 || (d === 0 && a.auc > best.auc) ? a : best;
  }, undefined);
}

function calibrationFinding(section: CalibrationSection): string {
  const t = section.temperature;
  const change = `ECE ${metric(section.before.ece)} → ${metric(section.after.ece)} with T = ${t.toFixed(2)}`;
  // T > 1 softens the logits: the model was more confident than its accuracy warrants.
  if (t > 1) return `over-confident: ${change}`;
  if (t < 1) return `under-confident: ${change}`;
  return `well calibrated: ECE ${metric(section.before.ece)}, temperature scaling left it unchanged (T = 1.00)`;
}
