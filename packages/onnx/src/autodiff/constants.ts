// Values known when the gradient graph is built: an int tensor from an initializer or a Constant
// node (axes, pads, slice bounds). Computed values return undefined and the rule decides.
import { tensorToArray } from '../model/tensor.js';
import { isDefaultDomain } from '../model/validate.js';
import { Attributes } from './graph.js';
import type { RuleContext } from './rule.js';

/**
 * The values of a constant integer or bool input: an initializer or a Constant node's output;
 * undefined when the value is computed at run time.
 */
export function constantValues(c: RuleContext, name: string): number[] | undefined {
  if (!name) return undefined;
  const init = c.g.graph.initializer.find((t) => t.name === name);
  if (init) return Array.from(tensorToArray(init), Number);
  const producer = c.g.graph.node.find((n) => n.output.includes(name));
  if (!producer || producer.opType !== 'Constant' || !isDefaultDomain(producer.domain)) return undefined;
  const attrs = new Attributes(producer);
  const tensor = attrs.tensor('value');
  if (tensor) return Array.from(tensorToArray(tensor), Number);
  if (attrs.has('value_int')) return [attrs.int('value_int', 0)];
  if (attrs.has('value_ints')) return attrs.ints('value_ints', []);
  return undefined;
}
