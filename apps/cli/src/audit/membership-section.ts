// The audit's membership section: the chosen attacks against the target, and, when calibration
// ran, against the temperature-scaled target with the attacker unaware and aware of T; when a twin
// is given (an adversarially trained model on the same members, say), against it too.
import { type AttackName, type AttackResult, type AuditOptions, MembershipAudit } from '@onnx-audit/mia';
import type { MembershipAttackResult, MembershipSection } from '@onnx-audit/report';
import type { ModelProto } from 'onnx-buf';

import { auditAll } from '../membership-options.js';

export interface MembershipInputs {
  options: AuditOptions;
  attacks: readonly AttackName[];
  /** The target with temperature scaling appended, and T, when the calibration section ran. */
  calibrated?: { temperature: number; calibrate: (model: ModelProto) => ModelProto };
  twin?: { file: string; model: ModelProto };
}

export async function membershipSection(inputs: MembershipInputs): Promise<MembershipSection> {
  const { options, attacks, calibrated, twin } = inputs;
  const main = await auditAll(new MembershipAudit(options), attacks);
  const section: MembershipSection = { status: 'done', attacks: main.results.map(plain), skipped: main.skipped };
  if (calibrated) {
    const scaled = { ...options, target: calibrated.calibrate(options.target), architecture: options.target };
    const unaware = await auditAll(new MembershipAudit(scaled), attacks);
    const aware = await auditAll(new MembershipAudit({ ...scaled, calibrateAttackerModels: calibrated.calibrate }), attacks);
    section.calibrated = { temperature: calibrated.temperature, attackerUnaware: unaware.results.map(plain), attackerAware: aware.results.map(plain) };
  }
  if (twin) {
    const outcome = await auditAll(new MembershipAudit({ ...options, target: twin.model }), attacks);
    section.twin = { model: twin.file, attacks: outcome.results.map(plain) };
  }
  return section;
}

function plain(r: AttackResult): MembershipAttackResult {
  return { attack: r.attack, auc: r.auc, tprAtFpr: r.tprAtFpr, balancedAccuracy: r.balancedAccuracy, advantage: r.advantage, members: r.members, nonMembers: r.nonMembers, seconds: r.seconds, roc: r.roc };
}
