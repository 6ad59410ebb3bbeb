// The auditor's data: the target's members and non-members, and auxiliary data from the same
// distribution that the shadow and distillation stages draw on. Everything is checked before any
// training starts, so that a mistake costs one line instead of an hour.
import { createHash } from 'node:crypto';

import { stratifiedSplit } from '@onnx-audit/data';

import { MembershipError } from './errors.js';

export interface LabelledSet {
  /** [n, ...sampleDims] row-major. */
  x: Float32Array;
  sampleDims: number[];
  labels: Int32Array;
}

export interface MembershipData {
  members: LabelledSet;
  nonMembers: LabelledSet;
  /** Labelled samples the target never saw: shadow members, shadow non-members and the distillation set. */
  aux?: LabelledSet;
}

/** What the stages that train models use of the auxiliary data (shared/specs/seqmia.md §2). */
export interface AuxSplit {
  shadowIn: LabelledSet;
  shadowOut: LabelledSet;
  distillation: LabelledSet;
}

/** Fewest shadow members (and as many non-members) a shadow-based attack is run with. */
export const MIN_SHADOW_SAMPLES = 50;
/** Fewest distillation samples the sequence attacks (SeqMIA, TrajectoryMIA) are run with. */
export const MIN_DISTILLATION_SAMPLES = 100;

export function sampleCount(set: LabelledSet): number {
  return set.labels.length;
}

/** Members then non-members as one set, the order every score array follows. */
export function concatSets(first: LabelledSet, second: LabelledSet): LabelledSet {
  const x = new Float32Array(first.x.length + second.x.length);
  x.set(first.x);
  x.set(second.x, first.x.length);
  const labels = new Int32Array(first.labels.length + second.labels.length);
  labels.set(first.labels);
  labels.set(second.labels, first.labels.length);
  return { x, sampleDims: first.sampleDims, labels };
}

export function pickRows(set: LabelledSet, rows: ArrayLike<number>): LabelledSet {
  const size = set.sampleDims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(rows.length * size);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    x.set(set.x.subarray(rows[i] * size, (rows[i] + 1) * size), i * size);
    labels[i] = set.labels[rows[i]];
  }
  return { x, sampleDims: set.sampleDims, labels };
}

/**
 * Checks shapes, labels against the model's classes, finiteness, and that no sample is both a
 * member and a non-member or auxiliary sample (by hashing each sample's values and label).
 */
export function checkMembershipData(data: MembershipData, classes: number, sampleDims: readonly number[]): void {
  const sets: [string, LabelledSet | undefined][] = [['members', data.members], ['non-members', data.nonMembers], ['auxiliary data', data.aux]];
  for (const [name, set] of sets) {
    if (!set) continue;
    const n = set.labels.length;
    if (n === 0) throw new MembershipError(`the ${name} hold no samples`);
    if (set.sampleDims.join(',') !== sampleDims.join(',')) throw new MembershipError(`the ${name} are samples of [${set.sampleDims}], but the model takes [${sampleDims}]`);
    const size = sampleDims.reduce((a, b) => a * b, 1);
    if (set.x.length !== n * size) throw new MembershipError(`the ${name} hold ${set.x.length} values for ${n} labels of [${sampleDims}]`);
    const bad = set.labels.findIndex((label) => !(label >= 0 && label < classes));
    if (bad >= 0) throw new MembershipError(`the ${name}' label ${set.labels[bad]} at index ${bad} is outside the model's ${classes} classes [0, ${classes})`);
    const nonFinite = set.x.findIndex((v) => !Number.isFinite(v));
    if (nonFinite >= 0) throw new MembershipError(`the ${name} hold a non-finite value (${set.x[nonFinite]}) in sample ${Math.floor(nonFinite / size)}: fix or drop it`);
  }
  const members = hashes(data.members);
  const nonMembers = hashes(data.nonMembers);
  const overlaps: string[] = [];
  const inNonMembers = countIn(nonMembers, members);
  if (inNonMembers > 0) overlaps.push(`${inNonMembers} non-member${inNonMembers === 1 ? ' is' : 's are'} also among the members`);
  if (data.aux) {
    const aux = hashes(data.aux);
    const auxMembers = countIn(aux, members);
    if (auxMembers > 0) overlaps.push(`${auxMembers} auxiliary sample${auxMembers === 1 ? ' is' : 's are'} also among the members`);
    const auxNonMembers = countIn(aux, nonMembers);
    if (auxNonMembers > 0) overlaps.push(`${auxNonMembers} auxiliary sample${auxNonMembers === 1 ? ' is' : 's are'} also among the non-members`);
  }
  if (overlaps.length > 0) throw new MembershipError(`${overlaps.join('; ')} (identical values and label): the sets must be disjoint, remove the repeated samples`);
}

function hashes(set: LabelledSet): Set<string> {
  const size = set.sampleDims.reduce((a, b) => a * b, 1);
  const seen = new Set<string>();
  for (let i = 0; i < set.labels.length; i++) {
    const bytes = new Uint8Array(set.x.buffer, set.x.byteOffset + i * size * 4, size * 4);
    seen.add(createHash('sha1').update(bytes).update(String(set.labels[i])).digest('base64'));
  }
  return seen;
}

function countIn(values: Set<string>, reference: Set<string>): number {
  let count = 0;
  for (const value of values) if (reference.has(value)) count++;
  return count;
}

/**
 * Cuts the auxiliary data, per class, into shadow members and non-members of the target's member
 * count each (at most a quarter of the data each) and a distillation set of the rest, as SeqMIA
 * does (1000 + 1000 + 2000 per class of its 6000 minus the target's 2000).
 */
export function splitAux(aux: LabelledSet, members: number, seed: number): AuxSplit {
  const n = aux.labels.length;
  const share = Math.min(members / n, 0.25);
  const parts = stratifiedSplit(aux.labels, { shadowIn: share, shadowOut: share, distillation: 1 - 2 * share }, seed);
  return { shadowIn: pickRows(aux, parts.shadowIn), shadowOut: pickRows(aux, parts.shadowOut), distillation: pickRows(aux, parts.distillation) };
}

/** A hash of a set's values and labels: part of every stage key that trains or scores on it. */
export function setHash(set: LabelledSet): string {
  return createHash('sha256').update(new Uint8Array(set.x.buffer, set.x.byteOffset, set.x.byteLength)).update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength)).update(set.sampleDims.join(',')).digest('hex');
}
