// TopK's values are input elements picked along one axis, and its Indices output (one ONNX
// requires, so it is always there) says which: the adjoint puts each dY element back where it was
// read. The median filter of the input defences is a TopK: this lets an attack differentiate
// through it exactly.
import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema } from 'onnx-buf';

import { elementSize } from '../../model/tensor.js';
import type { GradientRule, RuleContext } from '../rule.js';

function topK(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const x = c.input(0), xDims = c.dims(x);
  const axis = c.attrs.int('axis', -1);
  const dataType = c.dtypeCode(x);
  const zero = create(TensorProtoSchema, { dataType, dims: [1n], rawData: new Uint8Array(elementSize(dataType) ?? 4) });
  const zeros = c.g.node('ConstantOfShape', [c.g.int64s(xDims)], { value: { tensor: zero } });
  // Indices along one axis are distinct, so 'add' only matters as a guard; it also needs opset 16,
  // which the builder raises every model to.
  c.give(0, c.g.node('ScatterElements', [zeros, c.output(1), dY], { axis: axis < 0 ? axis + xDims.length : axis, reduction: 'add' }));
}

export const topKRules: Record<string, GradientRule> = {
  TopK: { differentiable: [0], vjp: topK },
};
