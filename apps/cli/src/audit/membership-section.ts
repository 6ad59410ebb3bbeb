// The audit's membership section: the chosen attacks against the target, and, when calibration
// ran, against the temperature-scaled target with the attacker unaware and aware of T; when a twin
// is given (an adversarially trained model on the same members, say), against it too.
import type { AttackName, AttackResult, AuditOptions } from '@onnx-audit/mia';
import type { MembershipAttackResult, MembershipSection } from '@onnx-audit/report';
import type { ModelProto } from 'onnx-buf';

import { auditInterplay } from '../membership-options.js';

export interface MembershipInputs {
  options: AuditOptions;
  attacks: readonly AttackName[];
  /** The target with temperature scaling appended, and T, when the calibration section ran. */
  calibrated?: { temperature: number; calibrate: (model: ModelProto) => ModelProto };
  twin?: { file: string; model: ModelProto };
}

export async function membershipSection(inputs: MembershipInputs): Promise<MembershipSection> {
  const { main, calibrated, twin } = await auditInterplay(inputs.options, inputs.attacks, {
    ...(inputs.calibrated ? { calibrated: inputs.calibrated } : {}),
    ...(inputs.twin ? { twin: inputs.twin.model } : {}),
  });
  const section: MembershipSection = { status: 'done', attacks: main.results.map(plain), skipped: main.skipped };
  if (calibrated) section.calibrated = { temperature: calibrated.temperature, attackerUnaware: calibrated.attackerUnaware.results.map(plain), attackerAware: calibrated.attackerAware.results.map(plain) };
  if (twin && inputs.twin) section.twin = { model: inputs.twin.file, attacks: twin.results.map(plain) };
  return section;
}

function plain(r: AttackResult): MembershipAttackResult {
  return { attack: r.attack, auc: r.auc, tprAtFpr: r.tprAtFpr, balancedAccuracy: r.balancedAccuracy, advantage: r.advantage, members: r.members, nonMembers: r.nonMembers, seconds: r.seconds, roc: r.roc };
}
