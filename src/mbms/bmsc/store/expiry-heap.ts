// A binary min-heap of (expiry time, payload): the memory store's nonce expiry queue. Popping what is due
// costs O(log n) per entry popped, so purging in the path that stores nonces is amortised (each entry is
// pushed once and popped once) instead of a scan of every stored nonce per request. Pure JS.

export class ExpiryHeap<T> {
  #at: number[] = [];
  #items: T[] = [];

  get size(): number {
    return this.#at.length;
  }

  push(at: number, item: T): void {
    const a = this.#at;
    const v = this.#items;
    let i = a.length;
    a.push(at);
    v.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= at) break;
      a[i] = a[p]!;
      v[i] = v[p]!;
      i = p;
    }
    a[i] = at;
    v[i] = item;
  }

  /** Removes and passes to `fn` every entry with at <= now, soonest first; returns how many. */
  popDue(now: number, fn: (item: T, at: number) => void): number {
    let n = 0;
    while (this.#at.length > 0 && this.#at[0]! <= now) {
      const at = this.#at[0]!;
      fn(this.#pop(), at);
      n++;
    }
    return n;
  }

  clear(): void {
    this.#at.length = 0;
    this.#items.length = 0;
  }

  #pop(): T {
    const a = this.#at;
    const v = this.#items;
    const top = v[0]!;
    const lastAt = a.pop()!;
    const last = v.pop()!;
    const n = a.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && a[l + 1]! < a[l]! ? l + 1 : l;
      if (a[c]! >= lastAt) break;
      a[i] = a[c]!;
      v[i] = v[c]!;
      i = c;
    }
    a[i] = lastAt;
    v[i] = last;
    return top;
  }
}
