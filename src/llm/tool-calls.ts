// Reassembles OpenAI-style streamed tool calls. The wire sends each call as
// fragments keyed by `index`: the first carries `id` and `function.name`, the
// rest carry slices of `function.arguments`; with parallel calls the fragments of
// different calls may interleave. Some servers (older Ollama, a few llama.cpp
// builds) omit `index` and send each call whole; a fragment without `index`
// then starts a new call when its `id` differs from the previous one.
import type { ToolCall } from './types.ts';

interface Slot {
  index: number;
  id: string;
  name: string;
  args: string;
}

interface Fragment {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

export class ToolCallAssembler {
  #slots = new Map<number, Slot>();
  #last: Slot | undefined;

  get size(): number {
    return this.#slots.size;
  }

  /** Feeds one chunk's `delta.tool_calls`. Ignores anything that is not an array of objects. */
  add(fragments: unknown): void {
    if (!Array.isArray(fragments)) return;
    for (const f of fragments as Fragment[]) {
      if (!f || typeof f !== 'object') continue;
      const slot = this.#slotFor(f);
      const id = f.id;
      if (typeof id === 'string' && id && !slot.id) slot.id = id;
      const fn = f.function;
      if (fn && typeof fn === 'object') {
        // The name arrives whole in the first fragment; some servers repeat it
        // later, so only the first one counts.
        if (typeof fn.name === 'string' && fn.name && !slot.name) slot.name = fn.name;
        const a = fn.arguments;
        if (typeof a === 'string') slot.args += a;
        else if (a && typeof a === 'object') slot.args += JSON.stringify(a); // servers that send parsed JSON
      }
    }
  }

  /**
   * The calls made so far, whole, in index order, and forgets them. Arguments
   * are the exact concatenated text; a call with none gets "{}" (valid JSON for
   * a tool without parameters). A call without an id gets `call_<index>`.
   */
  drain(): ToolCall[] {
    const out = [...this.#slots.values()]
      .sort((a, b) => a.index - b.index)
      .map((s) => ({ id: s.id || `call_${s.index}`, name: s.name, arguments: s.args === '' ? '{}' : s.args }));
    this.#slots.clear();
    this.#last = undefined;
    return out;
  }

  #slotFor(f: Fragment): Slot {
    let index: number;
    if (typeof f.index === 'number' && Number.isInteger(f.index) && f.index >= 0) {
      index = f.index;
    } else {
      const last = this.#last;
      const newCall = !last || (typeof f.id === 'string' && f.id !== '' && f.id !== last.id);
      index = newCall ? this.#nextIndex() : last.index;
    }
    let slot = this.#slots.get(index);
    if (!slot) {
      slot = { index, id: '', name: '', args: '' };
      this.#slots.set(index, slot);
    }
    this.#last = slot;
    return slot;
  }

  #nextIndex(): number {
    let max = -1;
    for (const k of this.#slots.keys()) if (k > max) max = k;
    return max + 1;
  }
}
